import type { ServerResponse } from 'node:http';
import { SimulatorInputError } from './errors';
import { sendJson } from './responses';
import type { SimulatorControls } from './types';

export const ADMIN_PREFIX = '/__simulator/';

function object(body: string): Record<string, any> {
  if (body.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new SimulatorInputError('body must be JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new SimulatorInputError('body must be a JSON object');
  return v as Record<string, any>;
}

const finite = (v: unknown, name: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SimulatorInputError(`"${name}" must be a number`);
  return v;
};

/** The admin API: plain JSON, unsigned, mirrors `controls`. */
export async function handleAdmin(method: string, path: string, body: string, res: ServerResponse, controls: SimulatorControls): Promise<void> {
  try {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /__simulator/health':
        return sendJson(res, 200, { ok: true });
      case 'POST /__simulator/apps':
        return sendJson(res, 200, controls.registerApp(object(body) as any));
      case 'POST /__simulator/authorizations': {
        const b = object(body);
        return sendJson(res, 200, controls.authorize(b.appId, { authAppId: b.authAppId, authAppIds: b.authAppIds, userId: b.userId }));
      }
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
        return sendJson(res, 200, controls.addFault(object(body) as any));
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
