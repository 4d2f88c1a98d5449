import type { AlipayNotificationLog } from '../storage/alipay-notification-log';
import { id, ms } from './row-codec';
import { isRetryableLock, isUniqueViolation, TypeOrmStatements } from './statements';

/**
 * `AlipayNotificationLog` on the notifications table: handled `notify_id`s per app, shared by every
 * instance, until they expire on the module clock (`now`).
 */
export class TypeOrmNotificationMemory implements AlipayNotificationLog {
  constructor(
    private readonly sql: TypeOrmStatements,
    private readonly now: () => number,
  ) {}

  async isNotificationHandled(appId: string, notifyId: string): Promise<boolean> {
    const { rows } = await this.sql.run(
      `SELECT 1 AS found FROM ${this.sql.notifications} WHERE app_id = :appId AND notify_id = :notifyId AND expires_at > :now`,
      {
        appId,
        notifyId: id(notifyId, 'notifyId', 64),
        now: this.now(),
      },
    );
    return rows.length > 0;
  }

  async markNotificationHandled(appId: string, notifyId: string, expiresAt: Date): Promise<void> {
    const params = { appId, notifyId: id(notifyId, 'notifyId', 64), expiresAt: ms(expiresAt, 'expiresAt'), now: this.now() };
    await this.sql.run(`DELETE FROM ${this.sql.notifications} WHERE expires_at <= :now OR (app_id = :appId AND notify_id = :notifyId)`, params);
    try {
      await this.sql.run(
        `INSERT INTO ${this.sql.notifications} (app_id, notify_id, handled_at, expires_at) VALUES (:appId, :notifyId, :now, :expiresAt)`,
        params,
      );
    } catch (e) {
      // Another instance handled the same message at the same moment: remembered either way.
      if (!isUniqueViolation(e) && !isRetryableLock(e)) throw e;
    }
  }
}
