import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { SAMPLE_CONFIG, SAMPLE_CONFIG_KEY, SampleConfig, validateSampleEnv } from './sample-config';

/** The sample's own clock (state expiry, replay memory); not the library's clock. */
export const SAMPLE_CLOCK = Symbol('SAMPLE_CLOCK');

export interface SampleConfigOptions {
  /** Variables to validate instead of process.env and .env (tests). */
  env?: Record<string, string | undefined>;
  /** Values applied over the validated configuration (tests). */
  config?: Partial<SampleConfig>;
  clock?: () => number;
}

/**
 * `@nestjs/config` reads .env and the environment and runs {@link validateSampleEnv} at start-up, so a bad
 * value stops the boot with a message naming the variable; the typed result is provided as SAMPLE_CONFIG.
 */
@Global()
@Module({})
export class SampleConfigModule {
  static forRoot(options: SampleConfigOptions = {}): DynamicModule {
    const injected = options.env !== undefined;
    const config = ConfigModule.forRoot({
      cache: true,
      ignoreEnvFile: injected,
      validatePredefined: !injected,
      validate: (vars) => ({ [SAMPLE_CONFIG_KEY]: validateSampleEnv(injected ? options.env! : vars) }),
    });
    // Nest awaits this import later and reports the error; meanwhile it must not count as unhandled.
    config.catch(() => undefined);
    return {
      module: SampleConfigModule,
      imports: [config],
      providers: [
        {
          provide: SAMPLE_CONFIG,
          inject: [ConfigService],
          useFactory: (config: ConfigService): SampleConfig => ({ ...config.getOrThrow<SampleConfig>(SAMPLE_CONFIG_KEY), ...options.config }),
        },
        { provide: SAMPLE_CLOCK, useValue: options.clock ?? Date.now },
      ],
      exports: [SAMPLE_CONFIG, SAMPLE_CLOCK],
    };
  }
}
