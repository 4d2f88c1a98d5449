import type { AlipayTokenStore } from '../../storage/alipay-token-store';

/** What the contract needs from a store under test. */
export interface AlipayTokenStoreContractHarness {
  /** The store under test, whose app clock is the `clock` the factory was given. */
  store: AlipayTokenStore;
  /** Empties the store (before every case). */
  reset(): Promise<void>;
  /**
   * Other instances over the same data (other connections, other processes' view), for the races. A store
   * that lives in one process may return itself.
   */
  peers(count: number): Promise<AlipayTokenStore[]>;
  /**
   * Overwrites fields of a row directly (no version bump), for states the API reaches only in many steps.
   * A store that keeps columns derived from them (the TypeORM store's `check_due_at`) updates those too.
   */
  patch(appId: string, authAppId: string, fields: { lastCheckedAt?: Date | null }): Promise<void>;
  /** Closes connections (after the suite). */
  close?(): Promise<void>;
}

/** The test functions of Jest or Vitest (globals by default). */
export interface AlipayContractTestApi {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void>) => void;
  beforeAll: (fn: () => Promise<void>) => void;
  beforeEach: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
  expect: ContractExpect;
}

/** The matchers the contract uses, common to Jest and Vitest. */
interface Matchers {
  toBe(v: unknown): void;
  toEqual(v: unknown): void;
  toMatchObject(v: object): void;
  toBeNull(): void;
  toHaveLength(n: number): void;
  toContain(v: unknown): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  not: Pick<Matchers, 'toBe' | 'toBeNull'>;
}
type ContractExpect = (value: unknown) => Matchers & { rejects: { toThrow(e: unknown): Promise<void> } };
