import type { ServerResponse } from 'node:http';
import { SimulatorInputError } from './errors';
import { sendJson } from './responses';
import type { AuthorizeInput, SimulatorBehaviour, SimulatorControls } from './types';

export const ADMIN_PREFIX = '/__simulator/';

/** A JSON body from the admin API's callers: untyped on purpose, the controls validate what they use. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function object(body: string): Record<string, Json> {
  if (body.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new SimulatorInputError('body must be JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new SimulatorInputError('body must be a JSON object');
  return v as Record<string, Json>;
}

const finite = (v: unknown, name: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SimulatorInputError(`"${name}" must be a number`);
  return v;
};

const authorizeInput = (b: Record<string, Json>): AuthorizeInput => ({
  authAppId: b.authAppId,
  authAppIds: b.authAppIds,
  userId: b.userId,
  applicationType: b.applicationType,
  batch: b.batch,
  authMethods: b.authMethods,
});

/** JSON has no Infinity (it would print null): show it as the string the API also accepts. */
const jsonSettings = (s: SimulatorBehaviour): Record<string, unknown> =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === Infinity ? 'Infinity' : v]));

/** The admin API: plain JSON, unsigned, mirrors `controls`. */
export async function handleAdmin(method: string, path: string, body: string, res: ServerResponse, controls: SimulatorControls): Promise<void> {
  try {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /__simulator/health':
        return sendJson(res, 200, { ok: true });
      case 'POST /__simulator/apps':
        return sendJson(res, 200, controls.registerApp(object(body) as Json));
      case 'POST /__simulator/authorizations': {
        const b = object(body);
        return sendJson(res, 200, controls.authorize(b.appId, authorizeInput(b)));
      }
      case 'POST /__simulator/notifications/authorized': {
        const b = object(body);
        return sendJson(res, 200, await controls.notifyAuthorized(b.appId, { ...authorizeInput(b), trigger: b.trigger, triggerContext: b.triggerContext }));
      }
      case 'GET /__simulator/notifications':
        return sendJson(res, 200, controls.notifications());
      case 'POST /__simulator/notifications/redeliver':
        return sendJson(res, 200, await controls.redeliver(object(body).notifyId));
      case 'GET /__simulator/settings':
        return sendJson(res, 200, jsonSettings(controls.configure({})));
      case 'POST /__simulator/settings':
        return sendJson(res, 200, jsonSettings(controls.configure(object(body))));
      case 'POST /__simulator/authorizations/cancel': {
        const b = object(body);
        return sendJson(res, 200, await controls.cancelAuthorization(b.appId, b.authAppId));
      }
      case 'GET /__simulator/clock':
        return sendJson(res, 200, { nowMs: controls.now() });
      case 'POST /__simulator/clock': {
        const b = object(body);
        if (b.nowMs !== undefined) return sendJson(res, 200, { nowMs: controls.setClock(finite(b.nowMs, 'nowMs')) });
        if (b.advanceMs !== undefined) return sendJson(res, 200, { nowMs: controls.advanceClock(finite(b.advanceMs, 'advanceMs')) });
        throw new SimulatorInputError('give "advanceMs" or "nowMs"');
      }
      case 'POST /__simulator/faults':
        return sendJson(res, 200, controls.addFault(object(body) as Json));
      case 'DELETE /__simulator/faults':
        controls.clearFaults();
        return sendJson(res, 200, { ok: true });
      case 'GET /__simulator/stats':
        return sendJson(res, 200, controls.stats());
      case 'POST /__simulator/reset':
        controls.reset({ apps: object(body).apps === true });
        return sendJson(res, 200, { ok: true });
      default:
        return sendJson(res, 404, { code: 'not-found', message: `no admin route ${route}` });
    }
  } catch (e) {
    if (e instanceof SimulatorInputError) return sendJson(res, 400, { code: 'invalid-parameter', message: e.message });
    throw e;
  }
}
