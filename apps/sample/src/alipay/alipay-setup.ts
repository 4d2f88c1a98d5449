import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlipayAuthModuleOptions } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { CALLBACK_PATH, NOTIFY_PATH } from '../routes';

/** Injection token of the resolved {@link AlipaySetup}. */
export const ALIPAY_SETUP = Symbol('ALIPAY_SETUP');

/** The ISV app id the local simulation registers; not a real Alipay app. */
export const SIMULATION_APP_ID = '2021009000000001';

/** What the app talks to: Alipay with the configured credentials, or the in-process simulator. */
export interface AlipaySetup {
  mode: 'alipay' | 'simulation';
  /** The Alipay part of AlipayAuthModule's options (credentials, gateway, token keys). */
  moduleOptions: AlipayAuthModuleOptions;
  stateSecret: string;
  /** Simulation mode: the simulator's URL (gateway and authorization page). */
  simulatorUrl?: string;
  /** Simulation mode: the simulator's admin controls, for tests and demos. */
  simulator?: { url: string; controls: unknown; close(): Promise<void> };
}

interface SimulationSecrets {
  appPrivateKeyPem: string;
  tokenEncryptionKey: string;
  stateSecret: string;
}

/**
 * Simulation secrets survive restarts (next to the SQLite file) so that stored tokens stay decryptable.
 * They protect nothing real: the simulator forgets its own tokens on every start.
 */
function simulationSecrets(dataDir: string): SimulationSecrets {
  const file = join(dataDir, 'simulation-secrets.json');
  if (existsSync(file)) {
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as SimulationSecrets;
      if (s.appPrivateKeyPem && s.tokenEncryptionKey && s.stateSecret) return s;
    } catch {
      /* regenerate below */
    }
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const secrets: SimulationSecrets = {
    appPrivateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    tokenEncryptionKey: randomBytes(32).toString('base64'),
    stateSecret: randomBytes(32).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

function alipayModeSetup(config: SampleConfig): AlipaySetup {
  return {
    mode: 'alipay',
    stateSecret: config.stateSecret!,
    moduleOptions: {
      ...config.alipay!,
      // Prove the keys with one call before the first merchant's single-use code is spent, in every
      // environment (the library does so by default only when NODE_ENV=production).
      // ALIPAY_VERIFY_ON_BOOT=warn starts anyway with /health down; =false skips the call.
      verifyOnBoot: config.alipay!.verifyOnBoot ?? true,
    },
  };
}

/**
 * Simulation mode: starts the Alipay simulator (nestjs-alipay-auth-simulator) in this process (loaded only
 * here, so the Alipay path never loads it), registers our app with its callback and notify URLs, and points the library at it.
 */
async function simulationSetup(config: SampleConfig): Promise<AlipaySetup> {
  const secrets = simulationSecrets(config.simulator.dataDir);
  const { startAlipaySimulator } = await import('./simulator');
  const appPublicPem = createPublicKey(createPrivateKey(secrets.appPrivateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
  const sim = await startAlipaySimulator({
    port: config.simulator.port,
    host: config.simulator.host,
    apps: [
      {
        appId: SIMULATION_APP_ID,
        publicKey: appPublicPem,
        redirectUris: [`${config.publicBaseUrl}${CALLBACK_PATH}`],
        notifyUrl: `${config.publicBaseUrl}${NOTIFY_PATH}`,
      },
    ],
  });
  const url = sim.url.replace('//0.0.0.0:', '//127.0.0.1:');
  const pageUrl = sim.url.replace('//0.0.0.0:', '//localhost:');
  return {
    mode: 'simulation',
    stateSecret: config.stateSecret ?? secrets.stateSecret,
    simulatorUrl: pageUrl,
    simulator: sim,
    moduleOptions: {
      appId: SIMULATION_APP_ID,
      privateKey: secrets.appPrivateKeyPem,
      alipayPublicKey: sim.alipayPublicKeyPem,
      gateway: url,
      authorizePageBaseUrl: config.authorizePageBaseUrl ?? pageUrl,
      tokenEncryptionKeys: config.tokenEncryptionKeys ?? secrets.tokenEncryptionKey,
    },
  };
}

export async function resolveAlipaySetup(config: SampleConfig): Promise<AlipaySetup> {
  return config.mode === 'simulation' ? simulationSetup(config) : alipayModeSetup(config);
}

@Injectable()
class AlipaySetupLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('AlipaySetup');

  constructor(@Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.setup.simulator) return;
    await this.setup.simulator.close().catch((e: unknown) => this.logger.warn(`Simulator did not close cleanly: ${String(e)}`));
  }
}

/** Provides {@link ALIPAY_SETUP}; closes the simulator on shutdown. */
@Module({
  providers: [{ provide: ALIPAY_SETUP, inject: [SAMPLE_CONFIG], useFactory: resolveAlipaySetup }, AlipaySetupLifecycle],
  exports: [ALIPAY_SETUP],
})
export class AlipaySetupModule {}
