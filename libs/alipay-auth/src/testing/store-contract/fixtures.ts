import type {
  AlipayAuthorization,
  AlipayAuthorizationStatus,
  AlipayIssuedTokens,
  AlipayRefreshFailure,
  AlipayTokenStore,
} from '../../storage/alipay-token-store';
import type { AlipayContractTestApi, AlipayTokenStoreContractHarness } from './harness';

export const APP = '2021004100000001';
export const OTHER_APP = '2021004100000002';
export const T0 = Date.UTC(2025, 0, 15, 8, 30, 0, 123);
export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const at = (offset: number) => new Date(T0 + offset);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const merchant = (i: number) => `20880000${String(i).padStart(8, '0')}`;

/** `dueAt` is kept by the stores that index it (optional in the interface): compared where it matters only. */
export function withoutDueAt(row: AlipayAuthorization | null): Omit<AlipayAuthorization, 'dueAt'> | null {
  if (!row) return row;
  const { dueAt: _dueAt, ...rest } = row;
  return rest;
}

let seq = 0;
export function tokens(overrides: Partial<AlipayIssuedTokens> = {}): AlipayIssuedTokens {
  seq++;
  const salt = `${seq}x${Math.random().toString(36).slice(2, 10)}`;
  return {
    appAuthToken: `202501BBaccess${salt}`,
    appRefreshToken: `202501BBrefresh${salt}`,
    expiresAt: at(300 * DAY + 7),
    refreshExpiresAt: at(330 * DAY + 9),
    issuedAt: at(0),
    ...overrides,
  };
}

/**
 * What every group of cases shares: the test functions, the harness and its store (set in `beforeAll`: read
 * them inside a case, never while registering one), the app clock the cases move, and the writes the cases
 * start from, each decided on the row as it is now.
 */
export class ContractContext {
  h!: AlipayTokenStoreContractHarness;
  store!: AlipayTokenStore;
  /** The app clock the factory was given (instants of writes come from it); back to T0 before every case. */
  nowMs = T0;

  constructor(readonly api: AlipayContractTestApi) {}

  /** The version a write is decided on: the row as it is now (0 for a row that does not exist). */
  readonly version = async (authAppId: string, appId = APP) => (await this.store.find(appId, authAppId))?.version ?? 0;
  /** Saves over whatever is stored (the caller decided on the current row). */
  readonly save = async (
    authAppId: string,
    t: AlipayIssuedTokens = tokens(),
    extras: { userId?: string | null; authorizedAt?: Date; appId?: string } = {},
  ): Promise<AlipayAuthorization> => {
    const appId = extras.appId ?? APP;
    const current = await this.store.find(appId, authAppId);
    const row = await this.store.saveAuthorization({
      appId,
      authAppId,
      userId: extras.userId === undefined ? '2088000000000001' : extras.userId,
      tokens: t,
      authorizedAt: extras.authorizedAt ?? at(0),
      expectedVersion: current?.version ?? null,
    });
    if (!row) throw new Error(`saveAuthorization of ${authAppId} lost a race no one ran`);
    return row;
  };
  readonly setStatus = async (authAppId: string, next: AlipayAuthorizationStatus, reason: string | null) =>
    this.store.setStatus(APP, authAppId, await this.version(authAppId), next, reason);
  readonly recordFailure = async (authAppId: string, failure: AlipayRefreshFailure) =>
    this.store.recordFailure(APP, authAppId, await this.version(authAppId), failure);
  readonly markChecked = async (authAppId: string, checkedAt: Date) => this.store.markChecked(APP, authAppId, await this.version(authAppId), checkedAt);
}
