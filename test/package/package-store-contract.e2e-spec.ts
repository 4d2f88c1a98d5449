/**
 * The store contract (shipped as `nestjs-alipay-auth/testing`) against the TypeORM store on every engine
 * the integration suites use, and against the testing kit's in-memory store: the kit's store must behave
 * as the real one does, or tests written with it would pass against something production never runs.
 */
import { DataSource } from 'typeorm';
import { ALIPAY_AUTH_ENTITIES } from 'nestjs-alipay-auth/typeorm/alipay-authorization.entity';
import { alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm/migrations/alipay-auth-migrations';
import { alipayAuthorizationsTable, alipayNotificationsTable, AlipayAuthDatabaseType } from 'nestjs-alipay-auth/typeorm/sql-dialect';
import { AlipayTokenCipher } from 'nestjs-alipay-auth/storage/token-cipher';
import { TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm/typeorm-token.store';
import { InMemoryAlipayTokenStore } from 'nestjs-alipay-auth/testing/in-memory-token-store';
import { alipayTokenStoreContract } from 'nestjs-alipay-auth/testing/store-contract';
import { createIsolatedDatabase, testDatabaseEngines } from '../support/databases';

const key = { id: 'k1', key: Buffer.alloc(32, 7) };

alipayTokenStoreContract('InMemoryAlipayTokenStore', async (clock) => {
  const store = new InMemoryAlipayTokenStore({ clock });
  return {
    store,
    reset: async () => store.clear(),
    // One process, one map: every "instance" is the same store.
    peers: async (n) => Array.from({ length: n }, () => store),
    patch: async (appId, authAppId, fields) => void store.patch(appId, authAppId, fields),
  };
});

for (const engine of testDatabaseEngines()) {
  alipayTokenStoreContract(`TypeOrmAlipayTokenStore on ${engine}`, async (clock) => {
    const db = await createIsolatedDatabase(engine, 'contract');
    const options = db.options({ entities: ALIPAY_AUTH_ENTITIES, logging: false });
    const type = options.type as AlipayAuthDatabaseType;
    const ds = new DataSource({ ...options, migrations: alipayAuthMigrations(type), migrationsTableName: 'alipay_test_migrations' });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    const table = alipayAuthorizationsTable(ds);
    const opened: DataSource[] = [ds];
    const storeOn = (d: DataSource) => new TypeOrmAlipayTokenStore(d, new AlipayTokenCipher([key]), clock);
    return {
      store: storeOn(ds),
      reset: async () => {
        await ds.query(`DELETE FROM ${table}`);
        await ds.query(`DELETE FROM ${alipayNotificationsTable(ds)}`);
      },
      // Separate connections (pools), as separate instances have.
      peers: async (n) =>
        Promise.all(
          Array.from({ length: n }, async () => {
            const d = new DataSource(db.options({ entities: ALIPAY_AUTH_ENTITIES, logging: false }));
            await d.initialize();
            opened.push(d);
            return storeOn(d);
          }),
        ),
      patch: async (appId, authAppId, fields) => {
        const [sql, params] = ds.driver.escapeQueryWithParameters(
          `UPDATE ${table} SET last_checked_at = :checked, check_due_at = :due WHERE app_id = :appId AND auth_app_id = :authAppId`,
          {
            checked: fields.lastCheckedAt ? fields.lastCheckedAt.getTime() : null,
            due: fields.lastCheckedAt ? fields.lastCheckedAt.getTime() : 0,
            appId,
            authAppId,
          },
        );
        await ds.query(sql, params);
      },
      close: async () => {
        for (const d of opened) if (d.isInitialized) await d.destroy();
        await db.drop();
      },
    };
  });
}
