/**
 * Standalone simulator: `npm run start:simulator`.
 *   ALIPAY_SIMULATOR_PORT           default 9090
 *   ALIPAY_SIMULATOR_HOST           default 127.0.0.1
 *   ALIPAY_SIMULATOR_APPS           optional JSON array of apps ({ appId, publicKey | appCert, encryptKey?, notifyUrl?, redirectUris? })
 *   ALIPAY_SIMULATOR_PRIVATE_KEY    optional Alipay private key (PEM or bare base64); generated otherwise
 * Without ALIPAY_SIMULATOR_APPS it waits for POST /__simulator/apps.
 */
import { startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import type { SimulatorAppInput } from 'nestjs-alipay-auth-simulator';

function appsFromEnv(): SimulatorAppInput[] {
  const text = process.env.ALIPAY_SIMULATOR_APPS;
  if (!text) return [];
  const parsed: unknown = JSON.parse(text);
  return (Array.isArray(parsed) ? parsed : [parsed]) as SimulatorAppInput[];
}

async function main(): Promise<void> {
  const apps = appsFromEnv();
  const sim = await startAlipaySimulator({
    port: Number(process.env.ALIPAY_SIMULATOR_PORT ?? 9090),
    host: process.env.ALIPAY_SIMULATOR_HOST ?? '127.0.0.1',
    alipayPrivateKey: process.env.ALIPAY_SIMULATOR_PRIVATE_KEY || undefined,
    apps,
  });
  const log = (s: string) => process.stdout.write(`${s}\n`);
  log(`Alipay simulator listening on ${sim.url}`);
  log(`  gateway:        ${sim.url}/v3/alipay/open/auth/token/app`);
  log(`  authorize page: ${sim.url}/oauth2/appToAppAuth.htm?app_id=<ISV app id>&redirect_uri=<url>`);
  log(`  admin API:      ${sim.url}/__simulator/ (health, apps, authorizations, notifications, settings, clock, faults, stats, reset)`);
  log(apps.length ? `  registered apps: ${apps.map((a) => a.appId).join(', ')}` : '  no app registered yet: POST /__simulator/apps');
  log(`  Alipay public key (bare base64):\n${sim.alipayPublicKeyBase64}`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`alipay-simulator failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
