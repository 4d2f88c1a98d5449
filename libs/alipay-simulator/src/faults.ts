import { SimulatorInputError } from './errors';
import { newId } from './ids';
import { FAULT_KINDS, FaultInput, FaultKind } from './types';

interface Fault {
  id: string;
  route: string;
  kind: FaultKind;
  rate: number;
  /** Remaining applications; Infinity when unlimited. */
  remaining: number;
  latencyMs: number;
  grantType?: string;
  /** `gateway-error` only. */
  error?: { code: string; status: number };
}

/** What to do to one gateway request: sleep first, then at most one failure. */
export interface FaultPlan {
  latencyMs: number;
  /** The first matching non-latency fault, if any. */
  kind?: Exclude<FaultKind, 'latency'>;
  /** Number of faults applied (for the counter). */
  applied: number;
  /** What a `gateway-error` answers. */
  error?: { code: string; status: number };
}

function check(input: FaultInput): void {
  if (!input || typeof input !== 'object') throw new SimulatorInputError('fault must be an object');
  if (typeof input.route !== 'string' || !(input.route === '*' || input.route.startsWith('/'))) {
    throw new SimulatorInputError('"route" must be a path starting with "/" or "*"');
  }
  if (!FAULT_KINDS.includes(input.kind)) throw new SimulatorInputError(`"kind" must be one of ${FAULT_KINDS.join(', ')}`);
  if (input.rate !== undefined && !(typeof input.rate === 'number' && input.rate >= 0 && input.rate <= 1)) {
    throw new SimulatorInputError('"rate" must be a number in 0..1');
  }
  if (input.count !== undefined && !(Number.isInteger(input.count) && input.count > 0)) throw new SimulatorInputError('"count" must be a positive integer');
  if (input.latencyMs !== undefined && !(typeof input.latencyMs === 'number' && input.latencyMs >= 0 && input.latencyMs <= 600_000)) {
    throw new SimulatorInputError('"latencyMs" must be a number in 0..600000');
  }
  if (input.grantType !== undefined && input.grantType !== 'authorization_code' && input.grantType !== 'refresh_token') {
    throw new SimulatorInputError('"grantType" must be authorization_code or refresh_token');
  }
  if (input.kind === 'gateway-error' && !(typeof input.code === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(input.code))) {
    throw new SimulatorInputError('"code" (1-64 characters of [A-Za-z0-9._-]) is required for a gateway-error fault');
  }
  if (input.status !== undefined && !(Number.isInteger(input.status) && input.status >= 400 && input.status <= 599)) {
    throw new SimulatorInputError('"status" must be an integer in 400..599');
  }
}

/** Injected faults, matched on route (or `*`) and optionally grant_type, each with a probability and a count. */
export class FaultTable {
  private faults: Fault[] = [];

  add(input: FaultInput): { id: string } {
    check(input);
    const fault: Fault = {
      id: newId(),
      route: input.route,
      kind: input.kind,
      rate: input.rate ?? 1,
      remaining: input.count ?? Infinity,
      latencyMs: input.latencyMs ?? 1000,
      grantType: input.grantType,
      error: input.kind === 'gateway-error' ? { code: input.code!, status: input.status ?? 400 } : undefined,
    };
    this.faults.push(fault);
    return { id: fault.id };
  }

  clear(): void {
    this.faults = [];
  }

  get size(): number {
    return this.faults.length;
  }

  /** Decides, and consumes counts, for one request. The table is short, so a scan is fine. */
  plan(route: string, grantType: string | undefined): FaultPlan {
    const plan: FaultPlan = { latencyMs: 0, applied: 0 };
    if (this.faults.length === 0) return plan;
    for (const f of this.faults) {
      if (f.route !== '*' && f.route !== route) continue;
      if (f.grantType && f.grantType !== grantType) continue;
      if (f.kind !== 'latency' && plan.kind) continue;
      if (f.rate < 1 && Math.random() >= f.rate) continue;
      f.remaining--;
      plan.applied++;
      if (f.kind === 'latency') plan.latencyMs += f.latencyMs;
      else {
        plan.kind = f.kind;
        plan.error = f.error;
      }
    }
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return plan;
  }
}
