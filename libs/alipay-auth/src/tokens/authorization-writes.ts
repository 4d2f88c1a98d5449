import { createHash } from 'node:crypto';
import { AlipayAuthError } from '../errors/alipay-auth.errors';
import type { AlipayAuthorization, AlipayIssuedTokens, AlipayTokenStore } from '../storage/alipay-token-store';

/** How often a write decided on a row is re-decided when other writers keep moving the row on. */
export const WRITE_ATTEMPTS = 5;

/**
 * Stores an authorization that replaces whatever the merchant's row holds (a code just exchanged), by a
 * compare-and-set on the row as read; a lost race re-reads and writes again. `input` is built per attempt.
 */
export async function replaceAuthorization(
  store: AlipayTokenStore,
  appId: string,
  authAppId: string,
  input: () => { userId: string | null; tokens: AlipayIssuedTokens; authorizedAt: Date },
): Promise<AlipayAuthorization> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.find(appId, authAppId);
    const row = await store.saveAuthorization({ appId, authAppId, ...input(), expectedVersion: current?.version ?? null });
    if (row) return row;
  }
  throw new AlipayAuthError(`Could not save the authorization of merchant app ${authAppId}: concurrent writes kept changing its row`);
}

/** How long a stored pair is remembered when Alipay gave no refresh-token expiry (longer than any pair lives). */
const PAIR_MEMORY_MS = 400 * 24 * 3600_000;

/**
 * The notification-memory key of a token pair that was stored once: a notification carrying it again is a
 * resend or a replay, whatever its `notify_id` says (the signed string does not pin which parameter a value
 * belongs to). A keyed digest, never the token.
 */
function pairKey(appId: string, authAppId: string, appAuthToken: string): string {
  return `pair.${createHash('sha256').update(`${appId}:${authAppId}:${appAuthToken}`).digest('base64url')}`;
}

/** Remembers that this pair was stored (exchange or notification), until it cannot be used any more. */
export async function rememberStoredPair(store: AlipayTokenStore, row: AlipayAuthorization, now: number): Promise<void> {
  const until = row.refreshExpiresAt ? Math.max(row.refreshExpiresAt.getTime(), now) : now + PAIR_MEMORY_MS;
  await store.markNotificationHandled(row.appId, pairKey(row.appId, row.authAppId, row.appAuthToken), new Date(until + 24 * 3600_000));
}

/** Whether this pair was stored once already. */
export function wasPairStored(store: AlipayTokenStore, appId: string, authAppId: string, appAuthToken: string): Promise<boolean> {
  return store.isNotificationHandled(appId, pairKey(appId, authAppId, appAuthToken));
}
