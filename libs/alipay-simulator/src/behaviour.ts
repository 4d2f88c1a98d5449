import { SimulatorInputError } from './errors';
import { DEFAULT_NOTIFY_RETRY_DELAYS_MS } from './notify';
import { BATCH_CODE_TTL_MS, CODE_TTL_MS } from './state';
import type { SimulatorBehaviour } from './types';

/** The faithful defaults (protocol doc §9); the stricter variants are one `configure` call away. */
export const DEFAULT_BEHAVIOUR: Readonly<SimulatorBehaviour> = Object.freeze({
  refreshGraceMs: Infinity,
  tokenOverlapMs: 0,
  reauthorizationRetiresRefreshToken: false,
  tokenTtlSec: 31_536_000,
  refreshTtlSec: 32_140_800,
  durationsAs: 'number',
  tokensOnly: false,
  signErrors: true,
  codeTtlMs: CODE_TTL_MS,
  batchCodeTtlMs: BATCH_CODE_TTL_MS,
  timestampWindowMs: 15 * 60_000,
  notifyRetryDelaysMs: DEFAULT_NOTIFY_RETRY_DELAYS_MS,
  notifyTimeScale: 1,
});

type Key = keyof SimulatorBehaviour;
const NUMBER_KEYS: Key[] = [
  'refreshGraceMs',
  'tokenOverlapMs',
  'tokenTtlSec',
  'refreshTtlSec',
  'codeTtlMs',
  'batchCodeTtlMs',
  'timestampWindowMs',
  'notifyTimeScale',
];
const BOOLEAN_KEYS: Key[] = ['tokensOnly', 'reauthorizationRetiresRefreshToken', 'signErrors'];

/** JSON has no Infinity: the admin API may send the string "Infinity". */
function nonNegative(value: unknown, name: string): number {
  const v = value === 'Infinity' ? Infinity : value;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new SimulatorInputError(`"${name}" must be a non-negative number`);
  return v;
}

/** Checks a partial behaviour (start options or a configure patch); unknown keys are ignored. */
export function checkBehaviour(patch: Partial<Record<Key, unknown>>): Partial<SimulatorBehaviour> {
  if (!patch || typeof patch !== 'object') throw new SimulatorInputError('settings must be an object');
  const out: Partial<Record<Key, unknown>> = {};
  for (const k of NUMBER_KEYS) if (patch[k] !== undefined) out[k] = nonNegative(patch[k], k);
  if (patch.durationsAs !== undefined) {
    if (patch.durationsAs !== 'number' && patch.durationsAs !== 'string') throw new SimulatorInputError('"durationsAs" must be "number" or "string"');
    out.durationsAs = patch.durationsAs;
  }
  for (const k of BOOLEAN_KEYS) {
    if (patch[k] === undefined) continue;
    if (typeof patch[k] !== 'boolean') throw new SimulatorInputError(`"${k}" must be a boolean`);
    out[k] = patch[k];
  }
  if (patch.notifyRetryDelaysMs !== undefined) {
    const d = patch.notifyRetryDelaysMs;
    if (!Array.isArray(d) || d.length > 50) throw new SimulatorInputError('"notifyRetryDelaysMs" must be an array of at most 50 numbers');
    out.notifyRetryDelaysMs = d.map((x, i) => {
      const n = nonNegative(x, `notifyRetryDelaysMs[${i}]`);
      if (!Number.isFinite(n)) throw new SimulatorInputError(`"notifyRetryDelaysMs[${i}]" must be finite`);
      return n;
    });
  }
  return out as Partial<SimulatorBehaviour>;
}
