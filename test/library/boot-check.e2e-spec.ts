/**
 * The start-up self-check (`verifyOnBoot`, issue 10): a wrong key is found before any merchant's
 * single-use code is exchanged, and the error names which side is wrong.
 */
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { generateKeyPairSync } from 'node:crypto';
import { AlipayAuthHealthService, AlipayAuthModule, AlipayAuthModuleOptions } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay } from '../support/simulated-alipay';

describe('start-up self-check against the simulator', () => {
  let alipay: SimulatedAlipay;
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start();
  });
  afterAll(() => alipay?.close());

  function boot(extra: Partial<AlipayAuthModuleOptions>) {
    return Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: ':memory:',
          entities: ALIPAY_AUTH_ENTITIES,
          migrations: alipayAuthMigrations('better-sqlite3'),
          migrationsRun: true,
        }),
        AlipayAuthModule.forRoot(alipay.moduleOptions({ verifyOnBoot: true, ...extra })),
      ],
    })
      .compile()
      .then((m) => m.init());
  }

  it('boots when Alipay accepts our signature and its answer verifies', async () => {
    const app = await boot({});
    expect((await app.get(AlipayAuthHealthService).summary()).configurationCircuit.open).toBe(false);
    await app.close();
  });

  it('stops the boot on a wrong Alipay public key, naming it, before any code is exchanged', async () => {
    const exchanges = alipay.sim.controls.stats().exchanges;
    await expect(boot({ alipayPublicKey: otherKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() })).rejects.toThrow(/"alipayPublicKey"/);
    expect(alipay.sim.controls.stats().exchanges).toBe(exchanges);
  });

  it('stops the boot when Alipay refuses our signature, naming the private key or app id', async () => {
    await expect(boot({ privateKey: otherKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })).rejects.toThrow(
      /invalid-signature.*private key, app id/,
    );
  });

  it("with 'warn' it starts, and the health summary is down until a call succeeds", async () => {
    const app = await boot({ verifyOnBoot: 'warn', alipayPublicKey: otherKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const health = await app.get(AlipayAuthHealthService).summary();
    expect(health.status).toBe('down');
    expect(health.configurationCircuit.open).toBe(true);
    await app.close();
  });
});
