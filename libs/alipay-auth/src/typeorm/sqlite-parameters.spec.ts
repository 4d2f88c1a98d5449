import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { bindIntegersAsParameters } from './sqlite-parameters';

describe('bindIntegersAsParameters', () => {
  it('turns safe integers into BigInt for better-sqlite3 only, leaving other values and the input alone', () => {
    const params = { now: 1827677272503, ratio: 0.5, name: 'x', none: null };
    const bound = bindIntegersAsParameters('better-sqlite3', params);
    expect(bound).toEqual({ now: 1827677272503n, ratio: 0.5, name: 'x', none: null });
    expect(params.now).toBe(1827677272503);
    expect(bindIntegersAsParameters('postgres', params)).toBe(params);
    expect(bindIntegersAsParameters('better-sqlite3', { name: 'x' })).toEqual({ name: 'x' });
  });

  it("keeps the SQL text of TypeORM's better-sqlite3 driver the same whatever the numbers, and binds them as integers", async () => {
    const ds = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await ds.initialize();
    try {
      const sql = 'SELECT :a AS a, typeof(:a) AS t';
      const [first, p1] = ds.driver.escapeQueryWithParameters(sql, bindIntegersAsParameters('better-sqlite3', { a: 1 }));
      const [second, p2] = ds.driver.escapeQueryWithParameters(sql, bindIntegersAsParameters('better-sqlite3', { a: 1827677272503 }));
      expect(first).toBe(second);
      const db = new Database(':memory:');
      expect(db.prepare(second).get(...p2)).toEqual({ a: 1827677272503, t: 'integer' });
      expect(db.prepare(first).get(...p1)).toEqual({ a: 1, t: 'integer' });
      db.close();
    } finally {
      await ds.destroy();
    }
  });
});
