import { ConfigurableModuleBuilder, Provider } from '@nestjs/common';
import { AlipayAuthModuleOptions } from './alipay-auth.options';
import { alipayTokenStoreProvider } from './storage/alipay-token-store.provider';
import { alipayTypeOrmStorageModule } from './typeorm/typeorm-storage.loader';
import { ALIPAY_AUTH_NAMED_PROVIDERS, ALIPAY_AUTH_REGISTRATION_NAME, getAlipayAuthToken } from './alipay-auth.tokens';
import { AlipayConfigError } from './errors/alipay-auth.errors';

/** Options known when the module is declared (not from a factory), like `isGlobal`. */
export interface AlipayAuthModuleExtras {
  /** Global module (default true). */
  isGlobal: boolean;
  /** Name of the TypeORM data source that stores tokens. Default: the app's default data source. */
  dataSource?: string;
  /**
   * Name of this registration, for several ISV apps in one process: its providers are then exported
   * under `getAlipayTokenServiceToken(name)` and friends (inject with `@InjectAlipayTokenService(name)`),
   * with a cron job and log names of their own. All registrations share one table (rows are keyed by app id).
   */
  name?: string;
}

/**
 * For `forRootAsync({ useClass })` / `useExisting`: a provider with this method returns the options,
 * as `TypeOrmOptionsFactory.createTypeOrmOptions()` does for `@nestjs/typeorm`.
 */
export interface AlipayAuthOptionsFactory {
  createAlipayAuthOptions(): AlipayAuthModuleOptions | Promise<AlipayAuthModuleOptions>;
}

/** A `store` given in `forRoot` options (unknown for `forRootAsync` until the factory runs). */
function customStoreGiven(providers: Provider[] | undefined): boolean {
  return (providers ?? []).some(
    (p) => typeof p === 'object' && 'useValue' in p && p.provide === ALIPAY_AUTH_MODULE_OPTIONS && !!(p.useValue as AlipayAuthModuleOptions)?.store,
  );
}

export const {
  ConfigurableModuleClass: AlipayAuthConfigurableModule,
  MODULE_OPTIONS_TOKEN: ALIPAY_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: ALIPAY_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ALIPAY_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AlipayAuthModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAlipayAuthOptions')
  .setExtras<AlipayAuthModuleExtras>({ isGlobal: true, dataSource: undefined, name: undefined }, (definition, extras) => {
    const name = extras.name;
    if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(name))) {
      throw new AlipayConfigError('Option "name" must be 1-32 characters of [A-Za-z0-9_.-]');
    }
    // A named registration exports only name-bound tokens, so two registrations never answer for each other.
    const named = name ? ALIPAY_AUTH_NAMED_PROVIDERS.map((p) => ({ provide: getAlipayAuthToken(p, name), useExisting: p })) : [];
    // The TypeORM store's module (loaded lazily: typeorm is an optional peer), unless forRoot names a store.
    const typeorm = customStoreGiven(definition.providers) ? [] : [alipayTypeOrmStorageModule(extras.dataSource)];
    return {
      ...definition,
      global: extras.isGlobal,
      imports: [...(definition.imports ?? []), ...typeorm],
      providers: [
        ...(definition.providers ?? []),
        alipayTokenStoreProvider(extras.dataSource),
        { provide: ALIPAY_AUTH_REGISTRATION_NAME, useValue: name ?? null },
        ...named,
      ],
      // The module class lists its default exports (read here, when forRoot runs, to avoid an import cycle).
      exports: name ? named.map((p) => p.provide) : (definition.module as unknown as { defaultExports: Provider[] }).defaultExports,
    };
  })
  .build();
