import { isAbsolute, resolve } from 'node:path';
import { alipayAuthOptionsFromEnv, AlipayAuthEnv, AlipayAuthEnvOptions, AlipayConfigError } from 'nestjs-alipay-auth';
import { weakSecretReason } from './secret-strength';

/** Injection token of the validated {@link SampleConfig}. */
export const SAMPLE_CONFIG = Symbol('SAMPLE_CONFIG');

/** Key under which the validated config sits in `ConfigService`. */
export const SAMPLE_CONFIG_KEY = 'sample';

export type CallbackWithoutStatePolicy = 'accept' | 'reject';

export type SampleDatabaseConfig =
  | { type: 'better-sqlite3'; database: string }
  | {
      type: 'postgres' | 'mysql';
      url?: string;
      host?: string;
      port?: number;
      username?: string;
      password?: string;
      database?: string;
      ssl: boolean;
      /** PostgreSQL only: the schema holding the tables (default: the server's search_path, usually public). */
      schema?: string;
    };

/** Variables whose presence means "talk to Alipay" (else the local simulation runs). */
const ALIPAY_CREDENTIAL_VARIABLES = ['APP_ID', 'PRIVATE_KEY', 'PUBLIC_KEY', 'APP_CERT', 'PUBLIC_CERT', 'ROOT_CERT'].flatMap((n) => [
  `ALIPAY_${n}`,
  `ALIPAY_${n}_PATH`,
]);

/** The sample app's configuration, validated once at start-up. */
export interface SampleConfig {
  nodeEnv: string;
  port: number;
  host: string;
  /** Origin (and optional path prefix) the merchants' browsers and Alipay reach us at; no trailing slash. */
  publicBaseUrl: string;
  /** `alipay`: credentials configured. `simulation`: none, so an in-process simulator stands in for Alipay. */
  mode: 'alipay' | 'simulation';
  /** Present in `alipay` mode: the Alipay part of the module options, as `alipayAuthOptionsFromEnv` read it (keys already checked). */
  alipay?: AlipayAuthEnvOptions;
  /** `production`, `sandbox` or a base URL. */
  gateway: string;
  authorizePageBaseUrl?: string;
  tokenEncryptionKeys?: Array<{ id: string; key: string }>;
  simulator: { port: number; host: string; dataDir: string };
  database: SampleDatabaseConfig;
  migrationsRun: boolean;
  /** HMAC key of the authorization `state`. Generated in simulation mode when absent. */
  stateSecret?: string;
  adminToken?: string;
  callbackWithoutState: CallbackWithoutStatePolicy;
  refresh: { enabled: boolean; cron: string };
  /** `/health` is down when more than this share of active authorizations is failing to refresh. */
  healthMaxFailingRatio: number;
  /** IANA zone the operators' page shows times in (UTC on hover). TIME_ZONE, default Asia/Shanghai. */
  timeZone: string;
  /** Express `trust proxy` (hops or addresses): which X-Forwarded-For entries name the client. False: none. */
  trustProxy: boolean | number | string;
  /** Redis for the throttle counters and the callback replay memory; unset = in memory and the database. */
  redisUrl?: string;
  /** Prefix of every Redis key (several deployments can share one Redis). */
  redisKeyPrefix: string;
  /** Requests per client and minute: callbacks (each one may cost a signed call to Alipay) and notifications. */
  throttle: { callbackPerMinute: number; notifyPerMinute: number };
}

/** Start-up configuration error; the message names every bad variable and never echoes a secret. */
export class SampleConfigError extends Error {
  declare readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SampleConfigError';
    Object.defineProperty(this, 'problems', { value: problems, enumerable: false });
    // The message says it all; a stack trace only hides it in the start-up log.
    this.stack = `${this.name}: ${this.message}`;
  }
}

type Env = Record<string, unknown>;

/**
 * Validates the environment (the `validate` function given to `ConfigModule.forRoot`). Every problem is
 * collected and reported at once, each naming its variable; values of secrets are never echoed.
 */
export function validateSampleEnv(env: Env): SampleConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    if (v === undefined || v === null) return undefined;
    const s = String(v).trim();
    return s === '' ? undefined : s;
  };
  const fail = (name: string, message: string) => problems.push(`${name} ${message}`);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const s = str(name);
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min || n > max) {
      fail(name, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const s = str(name)?.toLowerCase();
    if (s === undefined) return fallback;
    if (['true', '1', 'yes'].includes(s)) return true;
    if (['false', '0', 'no'].includes(s)) return false;
    fail(name, 'must be true or false');
    return fallback;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const s = str(name);
    if (s === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(s)) {
      fail(name, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return s as T;
  };
  const httpUrl = (name: string): string | undefined => {
    const s = str(name);
    if (s === undefined) return undefined;
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      if (u.search || u.hash) throw new Error();
      return s.replace(/\/+$/, '');
    } catch {
      fail(name, 'must be an http(s) URL without query or fragment');
      return undefined;
    }
  };
  const nodeEnv = str('NODE_ENV') ?? 'development';
  const production = nodeEnv === 'production';
  const port = int('PORT', 3000, 0, 65535);

  // --- Alipay credentials, or simulation: the library's reader of the ALIPAY_* variables ---------
  let alipayOptions: AlipayAuthEnvOptions | Partial<AlipayAuthEnvOptions> = {};
  try {
    alipayOptions = alipayAuthOptionsFromEnv(env as AlipayAuthEnv, { requireCredentials: false });
  } catch (e) {
    if (!(e instanceof AlipayConfigError)) throw e;
    problems.push(...e.problems);
  }
  const anyCredential = ALIPAY_CREDENTIAL_VARIABLES.some((n) => str(n) !== undefined);
  let mode: SampleConfig['mode'] = anyCredential ? 'alipay' : 'simulation';
  if (mode === 'simulation' && production) {
    fail('ALIPAY_APP_ID', 'is required when NODE_ENV=production (the local simulation runs only outside production)');
    mode = 'alipay';
  }
  const alipay = mode === 'alipay' && alipayOptions.appId ? (alipayOptions as AlipayAuthEnvOptions) : undefined;
  const gateway = str('ALIPAY_GATEWAY') ?? 'production';
  if (mode === 'simulation' && str('ALIPAY_GATEWAY'))
    fail('ALIPAY_GATEWAY', 'is set but no Alipay credentials are (set ALIPAY_APP_ID and the keys, or unset it to run the local simulation)');
  const authorizePageBaseUrl = alipayOptions.authorizePageBaseUrl;

  // --- token encryption at rest ----------------------------------------------------------------
  const tokenEncryptionKeys = alipayOptions.tokenEncryptionKeys as SampleConfig['tokenEncryptionKeys'];
  if (!str('ALIPAY_TOKEN_ENCRYPTION_KEYS') && production) {
    fail('ALIPAY_TOKEN_ENCRYPTION_KEYS', 'is required when NODE_ENV=production (tokens must be encrypted at rest)');
  }

  // --- public URL, state, operators ------------------------------------------------------------
  const publicBaseUrl = httpUrl('PUBLIC_BASE_URL') ?? `http://localhost:${port || 3000}`;
  if (!str('PUBLIC_BASE_URL') && production)
    fail('PUBLIC_BASE_URL', 'is required when NODE_ENV=production (it builds the redirect_uri registered with Alipay)');
  const stateSecret = str('STATE_SECRET');
  if (stateSecret && stateSecret.length < 32) fail('STATE_SECRET', 'must be at least 32 characters (openssl rand -base64 32)');
  if (!stateSecret && mode === 'alipay') fail('STATE_SECRET', 'is required (at least 32 random characters, the same on every instance)');
  const adminToken = str('ADMIN_TOKEN');
  if (adminToken && adminToken.length < 16) fail('ADMIN_TOKEN', 'must be at least 16 characters when set');
  if (production) {
    // Length alone lets "change-me-change-me-…" through; the value itself is never echoed.
    const weakState = stateSecret && stateSecret.length >= 32 ? weakSecretReason(stateSecret, 112) : undefined;
    if (weakState) fail('STATE_SECRET', `${weakState}: generate one (openssl rand -base64 32)`);
    const weakAdmin = adminToken && adminToken.length >= 16 ? weakSecretReason(adminToken, 48) : undefined;
    if (weakAdmin) fail('ADMIN_TOKEN', `${weakAdmin}: generate one (openssl rand -base64 24)`);
    // Over http the cookies cannot be Secure (nor __Host-): only a loopback address may do without TLS.
    const base = new URL(publicBaseUrl);
    if (base.protocol === 'http:' && !isLoopback(base.hostname.replace(/^\[|\]$/g, ''))) {
      fail('PUBLIC_BASE_URL', 'must be https:// when NODE_ENV=production (http only for a loopback address)');
    }
  }
  // The simulation has no operator protection by default: keep it on this machine unless HOST says otherwise.
  const host = str('HOST') ?? (mode === 'simulation' ? '127.0.0.1' : '0.0.0.0');
  // Production with open operator routes reachable from the network: refuse rather than warn.
  if (production && !adminToken && !isLoopback(host)) {
    fail('ADMIN_TOKEN', `is required when NODE_ENV=production and HOST (${host}) is not loopback: the operators' page and "Refresh now" would be open`);
  }
  const callbackWithoutState = oneOf('ALIPAY_CALLBACK_WITHOUT_STATE', ['accept', 'reject'] as const, 'accept');

  const refreshCron = str('REFRESH_CRON') ?? '0 */10 * * * *';
  if (!/^(\S+\s+){4,5}\S+$/.test(refreshCron)) fail('REFRESH_CRON', 'must be a cron expression of 5 or 6 fields');
  const refreshEnabled = bool('REFRESH_ENABLED', true);

  const timeZone = str('TIME_ZONE') ?? 'Asia/Shanghai';
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    fail('TIME_ZONE', 'must be an IANA time zone such as Asia/Shanghai or UTC');
  }
  const ratioText = str('HEALTH_MAX_FAILING_RATIO');
  let healthMaxFailingRatio = 0.5;
  if (ratioText !== undefined) {
    const r = Number(ratioText);
    if (!Number.isFinite(r) || r < 0 || r > 1) fail('HEALTH_MAX_FAILING_RATIO', 'must be a number from 0 to 1');
    else healthMaxFailingRatio = r;
  }

  // --- database ---------------------------------------------------------------------------------
  const database = databaseConfig(str, fail, int, bool);
  const schema = str('DB_SCHEMA');
  if (schema !== undefined) {
    if (database.type !== 'postgres') fail('DB_SCHEMA', 'is for PostgreSQL only');
    else if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) fail('DB_SCHEMA', 'must be a lower-case PostgreSQL identifier (letters, digits, _)');
    else database.schema = schema;
  }
  const migrationsRun = bool('DB_MIGRATIONS_RUN', true);

  const simulator = {
    port: int('ALIPAY_SIMULATOR_PORT', 9090, 0, 65535),
    host: str('ALIPAY_SIMULATOR_HOST') ?? '127.0.0.1',
    dataDir: absolute(str('SIMULATION_DATA_DIR') ?? './data'),
  };

  const trustProxy = trustProxySetting(str('TRUST_PROXY'));
  const redisUrl = str('REDIS_URL');
  if (redisUrl && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) fail('REDIS_URL', 'must be a redis:// or rediss:// URL');
  const redisKeyPrefix = str('REDIS_KEY_PREFIX') ?? 'alipay-sample:';
  const throttle = {
    callbackPerMinute: int('THROTTLE_CALLBACK_PER_MINUTE', 20, 1, 100_000),
    notifyPerMinute: int('THROTTLE_NOTIFY_PER_MINUTE', 600, 1, 1_000_000),
  };

  if (problems.length) throw new SampleConfigError(problems);
  return {
    nodeEnv,
    port,
    host,
    publicBaseUrl,
    mode,
    alipay,
    gateway,
    authorizePageBaseUrl,
    tokenEncryptionKeys,
    simulator,
    database,
    migrationsRun,
    stateSecret,
    adminToken,
    callbackWithoutState,
    refresh: { enabled: refreshEnabled, cron: refreshCron },
    healthMaxFailingRatio,
    timeZone,
    trustProxy,
    redisUrl,
    redisKeyPrefix,
    throttle,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** TRUST_PROXY: unset/false = none, true = all, a hop count, or addresses/subnets as Express takes them. */
function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || /^(false|0|no)$/i.test(value)) return false;
  if (/^(true|yes)$/i.test(value)) return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

function databaseConfig(
  str: (n: string) => string | undefined,
  fail: (n: string, m: string) => void,
  int: (n: string, f: number, min: number, max: number) => number,
  bool: (n: string, f: boolean) => boolean,
): SampleDatabaseConfig {
  const url = str('DATABASE_URL');
  let type = str('DB_TYPE')?.toLowerCase();
  if (type === 'mariadb') type = 'mysql';
  if (type && !['sqlite', 'postgres', 'mysql'].includes(type)) {
    fail('DB_TYPE', 'must be one of sqlite, postgres, mysql');
    type = undefined;
  }
  if (url) {
    const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
    const fromUrl =
      scheme === 'postgres' || scheme === 'postgresql'
        ? 'postgres'
        : scheme === 'mysql' || scheme === 'mariadb'
          ? 'mysql'
          : scheme === 'sqlite' || scheme === 'file'
            ? 'sqlite'
            : undefined;
    if (!fromUrl) {
      fail('DATABASE_URL', 'must start with postgres://, mysql://, mariadb:// or sqlite:');
      return { type: 'better-sqlite3', database: absolute('./data/sample.sqlite') };
    }
    if (type && type !== fromUrl) fail('DB_TYPE', `(${type}) contradicts DATABASE_URL (${fromUrl})`);
    if (fromUrl === 'sqlite') {
      const path = url.replace(/^(sqlite|file):(\/\/)?/i, '');
      if (!path) fail('DATABASE_URL', 'needs a file path after sqlite:');
      return { type: 'better-sqlite3', database: path === ':memory:' ? path : absolute(path) };
    }
    // mariadb:// is not a scheme the mysql2 driver parses; it speaks the same protocol.
    return { type: fromUrl as 'postgres' | 'mysql', url: url.replace(/^mariadb:/i, 'mysql:'), ssl: bool('DB_SSL', false) };
  }
  if (!type || type === 'sqlite') {
    const path = str('SQLITE_PATH') ?? './data/sample.sqlite';
    return { type: 'better-sqlite3', database: path === ':memory:' ? path : absolute(path) };
  }
  const database = str('DB_NAME');
  if (!database) fail('DB_NAME', `is required with DB_TYPE=${type} (or set DATABASE_URL)`);
  return {
    type: type as 'postgres' | 'mysql',
    host: str('DB_HOST') ?? 'localhost',
    port: int('DB_PORT', type === 'postgres' ? 5432 : 3306, 1, 65535),
    username: str('DB_USERNAME'),
    password: str('DB_PASSWORD'),
    database,
    ssl: bool('DB_SSL', false),
  };
}
