import { randomBytes } from 'node:crypto';
import type { AlipayAuthModuleOptions, AlipayTokenStore } from 'nestjs-alipay-auth';
import { startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';

export const TEST_APP_ID = '2021004100000001';

type Simulator = Awaited<ReturnType<typeof startAlipaySimulator>>;

/**
 * The simulator with the test ISV app registered, plus one clock shared by the simulator and every
 * app instance of a test, so "a year later" moves both sides together.
 */
export class SimulatedAlipay {
  offset = 0;
  readonly tokenKey = randomBytes(32).toString('base64');
  readonly clock = (): number => Date.now() + this.offset;

  private constructor(readonly sim: Simulator) {}

  static async start(options: Parameters<typeof startAlipaySimulator>[0] = {}): Promise<SimulatedAlipay> {
    const sim = await startAlipaySimulator({ port: 0, ...options });
    sim.controls.registerApp({ appId: TEST_APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem });
    return new SimulatedAlipay(sim);
  }

  advance(ms: number): void {
    this.offset += ms;
    this.sim.controls.advanceClock(ms);
  }

  /** Module options of one app instance talking to the simulator; `extra` overrides. */
  moduleOptions(extra: Partial<AlipayAuthModuleOptions> = {}): AlipayAuthModuleOptions {
    return {
      appId: TEST_APP_ID,
      privateKey: vectors.keys.app.privateKeyPkcs8Pem,
      alipayPublicKey: this.sim.alipayPublicKeyPem,
      gateway: this.sim.url,
      retries: 0,
      tokenEncryptionKeys: this.tokenKey,
      clock: this.clock,
      ...extra,
      refresh: { enabled: false, ...extra.refresh },
    };
  }

  close(): Promise<void> {
    return this.sim.close();
  }
}

/**
 * Copies a merchant's stored authorization from one ISV app to another (a row holding another app's
 * credential: what a wrong app id, or a mixed-up import, leaves behind).
 */
export async function copyAuthorization(from: AlipayTokenStore, fromAppId: string, to: AlipayTokenStore, toAppId: string, authAppId: string): Promise<void> {
  const row = (await from.find(fromAppId, authAppId))!;
  const tokens = {
    appAuthToken: row.appAuthToken,
    appRefreshToken: row.appRefreshToken,
    expiresAt: row.expiresAt,
    refreshExpiresAt: row.refreshExpiresAt,
    issuedAt: row.tokenIssuedAt,
  };
  const saved = await to.saveAuthorization({ appId: toAppId, authAppId, userId: row.userId, authorizedAt: row.authorizedAt, tokens, expectedVersion: null });
  if (!saved) throw new Error(`${toAppId} already holds merchant app ${authAppId}`);
}
