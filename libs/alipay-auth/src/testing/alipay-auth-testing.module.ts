import { DynamicModule, Injectable, Module, OnModuleDestroy } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { AlipayAuthModule } from '../alipay-auth.module';
import type { AlipayAuthModuleOptions } from '../alipay-auth.options';
import type { AlipayTokenStore } from '../storage/alipay-token-store';
import { InMemoryAlipayTokenStore } from './in-memory-token-store';
import type { AlipaySimulator, AlipaySimulatorOptions, AuthorizeInput, AuthorizeResult, CancelResult, FaultInput } from 'nestjs-alipay-auth-simulator';
import { startAlipaySimulator } from './simulator-package';

export interface AlipayAuthTestingOptions {
  /** The ISV app id. Default `2021000000000001`. */
  appId?: string;
  /** Default: a new `InMemoryAlipayTokenStore` on the kit's clock. */
  store?: AlipayTokenStore;
  /** Simulator behaviour (token lifetimes, overlap, notifications...). */
  simulator?: AlipaySimulatorOptions;
  /** Overrides of the module options. The scheduled refresh is off unless `refresh.enabled` is set. */
  options?: Partial<AlipayAuthModuleOptions>;
}

/**
 * One test's Alipay: an in-process simulator with the ISV app registered, a token store, and one clock
 * shared by the simulator and the library, so "a year later" moves both sides together.
 * Inject it in a test (`app.get(AlipayAuthTestingKit)`), or `AlipayAuthTestingKit.start()` without Nest.
 */
@Injectable()
export class AlipayAuthTestingKit implements OnModuleDestroy {
  private offset = 0;
  /** The clock of the library and the store: real time plus what `advance` added. */
  readonly clock = (): number => Date.now() + this.offset;

  private constructor(
    readonly appId: string,
    readonly simulator: AlipaySimulator,
    readonly store: AlipayTokenStore,
    private readonly appPrivateKeyPem: string,
    private readonly overrides: Partial<AlipayAuthModuleOptions>,
    private readonly appPublicKeyPem: string,
  ) {}

  static async start(options: AlipayAuthTestingOptions = {}): Promise<AlipayAuthTestingKit> {
    const appId = options.appId ?? '2021000000000001';
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const simulator = await startAlipaySimulator({ port: 0, ...options.simulator });
    const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    simulator.controls.registerApp({ appId, publicKey });
    const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // The store's clock is the kit's, which exists only once the store is built: resolved at call time.
    const holder: { kit?: AlipayAuthTestingKit } = {};
    const store = options.store ?? new InMemoryAlipayTokenStore({ clock: () => holder.kit!.clock() });
    holder.kit = new AlipayAuthTestingKit(appId, simulator, store, privateKey, options.options ?? {}, publicKey);
    return holder.kit;
  }

  /** Options for `AlipayAuthModule.forRoot` that talk to this kit's simulator and store. */
  moduleOptions(): AlipayAuthModuleOptions {
    const extra = this.overrides;
    return {
      appId: this.appId,
      privateKey: this.appPrivateKeyPem,
      alipayPublicKey: this.simulator.alipayPublicKeyPem,
      gateway: this.simulator.url,
      retries: 0,
      // Only the TypeORM store uses it; a throwaway key keeps a test from ever writing tokens in clear.
      tokenEncryptionKeys: randomBytes(32).toString('base64'),
      store: this.store,
      clock: this.clock,
      ...extra,
      refresh: { enabled: false, ...extra.refresh },
    };
  }

  /** A merchant approves on the authorization page: returns the `app_auth_code` (and the merchant's ids). */
  authorize(input?: AuthorizeInput): AuthorizeResult {
    return this.simulator.controls.authorize(this.appId, input);
  }

  /** Just the one-time `app_auth_code` of a new merchant authorization. */
  mintAuthCode(input?: AuthorizeInput): string {
    return this.authorize(input).app_auth_code;
  }

  /**
   * Where the simulator POSTs this app's notifications from now on (a cancellation, an authorization Alipay
   * made itself): your app's notification route, e.g. `http://127.0.0.1:${port}/alipay/notify`.
   */
  notifyTo(url: string): void {
    this.simulator.controls.registerApp({ appId: this.appId, publicKey: this.appPublicKeyPem, notifyUrl: url });
  }

  /** The merchant cancels the authorization on Alipay's side (and Alipay notifies the app, see `notifyTo`). */
  cancel(authAppId: string): Promise<CancelResult> {
    return this.simulator.controls.cancelAuthorization(this.appId, authAppId);
  }

  /** Moves the clock of the library, the store and the simulator forward together. */
  advance(ms: number): void {
    this.offset += ms;
    this.simulator.controls.advanceClock(ms);
  }

  /** The simulator answers matching requests with a fault (`http-503`, `reset`, `drop-after-issue`, ...). */
  fault(fault: FaultInput): { id: string } {
    return this.simulator.controls.addFault(fault);
  }

  clearFaults(): void {
    this.simulator.controls.clearFaults();
  }

  close(): Promise<void> {
    return this.simulator.close();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }
}

@Module({})
class AlipayAuthTestingKitModule {}

/**
 * `AlipayAuthModule` wired to an in-process Alipay simulator and an in-memory store, for the tests of an
 * app that uses the library:
 *
 *   const moduleRef = await Test.createTestingModule({ imports: [AlipayAuthTestingModule.forRoot(), MyFeatureModule] }).compile();
 *   const kit = moduleRef.get(AlipayAuthTestingKit);
 *   await moduleRef.get(AlipayTokenService).exchangeCode(kit.mintAuthCode());
 *
 * Global, like `AlipayAuthModule.forRoot`. `moduleRef.close()` stops the simulator.
 */
@Module({})
export class AlipayAuthTestingModule {
  static forRoot(options: AlipayAuthTestingOptions = {}): DynamicModule {
    // One module object used twice, so Nest builds one kit for both imports.
    const kitModule: DynamicModule = {
      module: AlipayAuthTestingKitModule,
      providers: [{ provide: AlipayAuthTestingKit, useFactory: () => AlipayAuthTestingKit.start(options) }],
      exports: [AlipayAuthTestingKit],
    };
    return {
      module: AlipayAuthTestingModule,
      global: true,
      imports: [
        kitModule,
        AlipayAuthModule.forRootAsync({ imports: [kitModule], inject: [AlipayAuthTestingKit], useFactory: (kit: AlipayAuthTestingKit) => kit.moduleOptions() }),
      ],
      exports: [kitModule],
    };
  }
}
