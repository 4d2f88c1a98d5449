/**
 * Several ISV apps in one process (issue 14): two named registrations, two keys, two simulator apps, one
 * table. Tokens, refreshes, cron jobs and notifications never cross.
 */
import { INestApplicationContext } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlipayAuthHealthIndicator,
  AlipayAuthModule,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
  getAlipayAuthHealthIndicatorToken,
  getAlipayTokenRefreshSchedulerToken,
  getAlipayTokenServiceToken,
} from 'nestjs-alipay-auth';
import { buildNotifySignContent, loadPrivateKey, rsaSign } from 'nestjs-alipay-auth/protocol';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay, TEST_APP_ID } from '../support/simulated-alipay';
import { keyFile } from '../fixtures/vectors';

const DAY = 86_400_000;
const APP_B = '2021004100000003';

describe('two ISV apps in one process (named registrations)', () => {
  let alipay: SimulatedAlipay;
  let app: INestApplicationContext;
  const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start({ alipayPrivateKey: keyFile('alipay_private_pkcs8.pem') });
    alipay.sim.controls.registerApp({ appId: APP_B, publicKey: keyB.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const file = join(mkdtempSync(join(tmpdir(), 'alipay-named-')), 'tokens.sqlite');
    const moduleRef = await Test.createTestingModule({
      imports: [
        ScheduleModule.forRoot(),
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: file,
          entities: ALIPAY_AUTH_ENTITIES,
          migrations: alipayAuthMigrations('better-sqlite3'),
          migrationsRun: true,
        }),
        AlipayAuthModule.forRoot({ name: 'payments', ...alipay.moduleOptions({ refresh: { enabled: true } }) }),
        AlipayAuthModule.forRoot({
          name: 'retail',
          ...alipay.moduleOptions({
            appId: APP_B,
            privateKey: keyB.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            refresh: { enabled: true },
          }),
        }),
      ],
    }).compile();
    app = await moduleRef.init();
  });

  afterAll(async () => {
    await app?.close();
    await alipay?.close();
  });

  const svc = (name: string) => app.get<AlipayTokenService>(getAlipayTokenServiceToken(name));

  it('exports each registration under its own name only, each with its own cron job', () => {
    expect(svc('payments')).not.toBe(svc('retail'));
    expect(app.get(getAlipayAuthHealthIndicatorToken('retail'))).toBeInstanceOf(AlipayAuthHealthIndicator);
    // Not under the class token: an unnamed injection cannot silently pick one of the two apps.
    expect(() => app.get(AlipayTokenService, { strict: true })).toThrow();
    const jobs = [...app.get(SchedulerRegistry).getCronJobs().keys()].sort();
    expect(jobs).toEqual(['alipay-auth-token-refresh:payments', 'alipay-auth-token-refresh:retail']);
  });

  it('keeps tokens, refreshes and notifications apart', async () => {
    const a = '2021004100000201';
    const b = '2021004100000202';
    await svc('payments').exchangeCode(alipay.sim.controls.authorize(TEST_APP_ID, { authAppId: a }).app_auth_code);
    await svc('retail').exchangeCode(alipay.sim.controls.authorize(APP_B, { authAppId: b }).app_auth_code);
    // A code of one app cannot be exchanged by the other (Alipay: APP_ID_NOT_CONSISTENT).
    await expect(svc('retail').exchangeCode(alipay.sim.controls.authorize(TEST_APP_ID, { authAppId: '2021004100000203' }).app_auth_code)).rejects.toMatchObject(
      {
        code: 'APP_ID_NOT_CONSISTENT',
      },
    );
    expect(await svc('payments').get(b)).toBeNull();
    expect(await svc('retail').get(a)).toBeNull();
    expect((await svc('payments').get(a))!.appId).toBe(TEST_APP_ID);
    expect((await svc('retail').get(b))!.appId).toBe(APP_B);

    alipay.advance(340 * DAY);
    const runA = await app.get<AlipayTokenRefreshScheduler>(getAlipayTokenRefreshSchedulerToken('payments')).refreshDue();
    expect(runA.refreshed).toBe(1);
    expect(alipay.sim.controls.stats().refreshesByMerchant).toEqual({ [a]: 1 });
    const runB = await app.get<AlipayTokenRefreshScheduler>(getAlipayTokenRefreshSchedulerToken('retail')).refreshDue();
    expect(runB.refreshed).toBe(1);

    // A cancellation for app B's merchant, signed by Alipay, is ignored by app A's handler and applied by B's.
    const params: Record<string, string> = {
      notify_id: '91234567890123456789012345678901',
      utc_timestamp: String(alipay.clock()),
      msg_method: 'alipay.open.auth.appauth.cancelled',
      app_id: APP_B,
      version: '1.1',
      charset: 'UTF-8',
      sign_type: 'RSA2',
      biz_content: JSON.stringify({ detail: { app_id: APP_B, auth_app_id: b } }),
    };
    const signed = { ...params, sign: rsaSign(loadPrivateKey(keyFile('alipay_private_pkcs8.pem')), buildNotifySignContent(params)) };
    await expect(svc('payments').handleNotification(signed)).resolves.toMatchObject({ handled: false, action: 'ignored' });
    await expect(svc('retail').handleNotification(signed)).resolves.toMatchObject({ action: 'cancelled', authAppId: b });
    expect((await svc('payments').get(a))!.status).toBe('active');
    expect((await svc('retail').get(b))!.status).toBe('cancelled');
  });
});
