/**
 * Entry point (`npm start` builds and runs it through scripts/start-sample.js).
 *   node main.js            start the app (simulation mode when no Alipay credentials are configured)
 *   node main.js migrate    run the database migrations and exit (a release step for several instances)
 *   node main.js reencrypt  re-encrypt every stored token with the current key and exit (after a key rotation)
 * Configuration: see .env.example.
 */
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AlipayTokenReencryption } from 'nestjs-alipay-auth';
import { DataSource } from 'typeorm';
import { ALIPAY_SETUP, AlipaySetup } from './alipay/alipay-setup';
import { bootWarnings } from './config/boot-warnings';
import { SAMPLE_CONFIG, SampleConfig, SampleConfigError } from './config/sample-config';
import { SampleConfigModule } from './config/sample-config.module';
import { databaseOptions } from './database/database-options';
import { CALLBACK_PATH, NOTIFY_PATH } from './routes';
import { createSampleApp } from './sample-app';

function banner(config: SampleConfig, setup: AlipaySetup): string {
  const line = '='.repeat(78);
  const open = `${config.publicBaseUrl}/`;
  const db = config.database.type === 'better-sqlite3' ? `SQLite ${config.database.database}` : `${config.database.type}`;
  if (setup.mode === 'simulation') {
    return [
      '',
      line,
      '  LOCAL SIMULATION - this app is NOT talking to Alipay',
      '',
      '  No Alipay credentials are configured (ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY, ...), so an Alipay',
      `  simulator runs in this process at ${setup.simulatorUrl} and plays the gateway and the`,
      `  authorization page for the fake app ${setup.moduleOptions.appId}.`,
      `  Database: ${db}`,
      '',
      `  Open ${open} , click "Authorize a merchant app", approve on the simulated page.`,
      '',
      '  To use Alipay, set the variables in .env.example; nothing else changes.',
      line,
      '',
    ].join('\n');
  }
  return [
    '',
    line,
    `  Alipay sample app for ISV app ${setup.moduleOptions.appId} (gateway: ${config.gateway})`,
    `  Operators' page:        ${open}${config.adminToken ? ' (ADMIN_TOKEN required)' : ' (UNPROTECTED: set ADMIN_TOKEN)'}`,
    `  Authorization callback: ${config.publicBaseUrl}${CALLBACK_PATH}   (register it on the Alipay app)`,
    `  Notification URL:       ${config.publicBaseUrl}${NOTIFY_PATH}`,
    `  Database: ${db}`,
    line,
    '',
  ].join('\n');
}

async function migrate(): Promise<void> {
  // The same .env reading and validation as the app, without starting it.
  const ctx = await NestFactory.createApplicationContext(SampleConfigModule.forRoot(), { logger: ['error', 'warn'], abortOnError: false });
  const config = ctx.get<SampleConfig>(SAMPLE_CONFIG);
  await ctx.close();
  const ds = new DataSource(databaseOptions({ ...config, migrationsRun: false }));
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    process.stdout.write(applied.length ? `Applied migrations: ${applied.map((m) => m.name).join(', ')}\n` : 'Database is up to date.\n');
  } finally {
    await ds.destroy();
  }
}

/** `reencrypt`: moves every stored token to the first key of ALIPAY_TOKEN_ENCRYPTION_KEYS (after a key rotation). Safe beside running instances. */
async function reencrypt(): Promise<void> {
  const app = await createSampleApp();
  try {
    const report = await app.get(AlipayTokenReencryption).run({
      onProgress: (p) => process.stdout.write(`  ${p.scanned} rows scanned, ${p.rewritten} re-encrypted, ${p.unreadable} unreadable\n`),
    });
    process.stdout.write(
      `Re-encryption done: ${report.rewritten} of ${report.scanned} rows rewritten; ${report.unreadable} unreadable (their key is not configured).\n`,
    );
    if (report.unreadable > 0) process.exitCode = 2;
  } finally {
    await app.close();
  }
}

async function start(): Promise<void> {
  const app = await createSampleApp();
  app.enableShutdownHooks();
  const config = app.get<SampleConfig>(SAMPLE_CONFIG);
  const setup = app.get<AlipaySetup>(ALIPAY_SETUP);
  for (const warning of bootWarnings(config)) new Logger('Sample').warn(warning);
  await app.listen(config.port, config.host);
  process.stdout.write(banner(config, setup));
}

const commands: Record<string, () => Promise<void>> = { migrate, reencrypt };
const run = commands[process.argv[2] ?? ''] ?? start;
run().catch((e: unknown) => {
  const message = e instanceof SampleConfigError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`\nThe sample app could not start.\n${message}\n`);
  process.exit(1);
});
