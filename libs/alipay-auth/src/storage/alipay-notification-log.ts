/**
 * Notification de-duplication: which Alipay notifications (`notify_id`) were handled already, so a message
 * Alipay delivers again is acknowledged without being applied twice. `AlipayTokenStore` extends it, so a
 * store of your own implements it alongside the authorizations (the TypeORM store keeps it in its own table).
 */
export interface AlipayNotificationLog {
  /** Whether a notification with this `notify_id` was handled already (and has not expired). */
  isNotificationHandled(appId: string, notifyId: string): Promise<boolean>;

  /** Remembers a handled notification until `expiresAt` (idempotent); prunes expired ones. */
  markNotificationHandled(appId: string, notifyId: string, expiresAt: Date): Promise<void>;
}
