import {
  AUTH_PAGE_PATH,
  BATCH_AUTH_PAGE_PATH,
  TASK_PAGE_PATH,
  certPublicKey,
  certSn,
  loadPrivateKey,
  publicKeyToBase64,
  rootCertSn,
} from 'nestjs-alipay-auth/protocol';
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin, ADMIN_PREFIX } from './admin-api';
import { AppRecord, toAppRecord } from './apps';
import { handleTaskPage, TASK_LAUNCH_PATH } from './task-page';
import { handleAuthPage } from './auth-page';
import { SimulatorClock } from './clock';
import { SimulatorInputError } from './errors';
import { FaultTable } from './faults';
import { GatewayContext, handleGateway } from './gateway';
import { errorBody, GatewayResponder } from './responses';
import { AuthorizationState } from './state';
import { SimulatorCounters } from './stats';
import { authorizedNotification, cancelledNotification, NotificationOutbox } from './notify';
import { checkBehaviour, DEFAULT_BEHAVIOUR } from './behaviour';
import type { AlipaySimulator, AlipaySimulatorOptions, SimulatorBehaviour, SimulatorControls } from './types';

const MAX_BODY_BYTES = 1 << 20;

function alipayKeyFrom(options: AlipaySimulatorOptions): KeyObject {
  if (options.alipayPrivateKey) return loadPrivateKey(options.alipayPrivateKey, 'alipayPrivateKey');
  if (options.certificate) throw new SimulatorInputError('option "certificate" needs "alipayPrivateKey" (the key of alipayCertPem)');
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

/** Reads the body up to the limit; null when it is larger (the rest is discarded). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

/** Starts the simulator on node:http. See README.md for the behaviour. */
export async function startAlipaySimulator(options: AlipaySimulatorOptions = {}): Promise<AlipaySimulator> {
  const alipayKey = alipayKeyFrom(options);
  const alipayPublic = createPublicKey(alipayKey);
  const alipayPublicKeyPem = alipayPublic.export({ type: 'spki', format: 'pem' }).toString();
  const alipayPublicKeyBase64 = publicKeyToBase64(alipayPublic);

  let alipayCertSn: string | undefined;
  let alipayRootCertSn: string | undefined;
  const cert = options.certificate;
  if (cert) {
    if (publicKeyToBase64(certPublicKey(cert.alipayCertPem, 'certificate.alipayCertPem')) !== alipayPublicKeyBase64) {
      throw new SimulatorInputError('certificate.alipayCertPem does not hold the public key of alipayPrivateKey');
    }
    alipayCertSn = certSn(cert.alipayCertPem, 'certificate.alipayCertPem');
    alipayRootCertSn = rootCertSn(cert.alipayRootCertPem, 'certificate.alipayRootCertPem');
  }

  // One mutable settings object, read by every part on every use, so configure() takes effect at once.
  const startBehaviour: SimulatorBehaviour = { ...DEFAULT_BEHAVIOUR, ...checkBehaviour(options) };
  const settings: SimulatorBehaviour = { ...startBehaviour };

  const clock = new SimulatorClock();
  const now = () => clock.now();
  const apps = new Map<string, AppRecord>();
  const state = new AuthorizationState(settings, now);
  const counters = new SimulatorCounters();
  const faults = new FaultTable();
  const outbox = new NotificationOutbox(settings, now);

  const requireApp = (appId: unknown): AppRecord => {
    const app = apps.get(String(appId));
    if (!app) throw new SimulatorInputError(`app ${String(appId)} is not registered`);
    return app;
  };

  const controls: SimulatorControls = {
    registerApp(input) {
      const record = toAppRecord(input, !!cert);
      apps.set(record.appId, record);
      return {
        alipayPublicKey: alipayPublicKeyPem,
        ...(cert ? { alipayPublicCert: cert.alipayCertPem, alipayRootCert: cert.alipayRootCertPem } : {}),
      };
    },
    authorize(appId, input = {}) {
      const app = requireApp(appId);
      const code = state.mintCode(app.appId, input);
      return { app_auth_code: code.code, user_id: code.userId, auth_app_ids: code.authAppIds };
    },
    async cancelAuthorization(appId, authAppId) {
      const app = requireApp(appId);
      const grant = state.cancel(app.appId, String(authAppId));
      if (!grant) return { cancelled: false };
      counters.cancellations++;
      if (!app.notifyUrl) return { cancelled: true };
      const { notifyId, result } = await outbox.send(app.appId, app.notifyUrl, cancelledNotification(grant, alipayKey, clock.now()));
      return { cancelled: true, notification: { ...result, notifyId } };
    },
    async notifyAuthorized(appId, input = {}) {
      const app = requireApp(appId);
      const code = state.mintCode(app.appId, input);
      const grants = state.executeCode(code);
      const result = { app_auth_code: code.code, user_id: code.userId, auth_app_ids: code.authAppIds };
      if (!app.notifyUrl) return result;
      const notifications = [];
      for (const grant of grants) {
        const params = authorizedNotification(code, grant, {
          alipayKey,
          nowMs: now(),
          tokenTtlSec: settings.tokenTtlSec,
          refreshTtlSec: settings.refreshTtlSec,
          trigger: input.trigger ?? 'service_market',
          triggerContext: input.triggerContext ?? {},
        });
        const sent = await outbox.send(app.appId, app.notifyUrl, params);
        notifications.push({ ...sent.result, notifyId: sent.notifyId });
      }
      return { ...result, notifications };
    },
    notifications: () => outbox.list(),
    redeliver: (notifyId) => outbox.redeliver(String(notifyId)),
    notificationSettled: (notifyId) => outbox.settled(String(notifyId)),
    configure(patch) {
      Object.assign(settings, checkBehaviour(patch));
      return { ...settings };
    },
    setClock: (nowMs) => clock.set(nowMs),
    advanceClock: (ms) => clock.advance(ms),
    now,
    addFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    stats: () => counters.snapshot(),
    reset(opts = {}) {
      state.clear();
      outbox.clear();
      Object.assign(settings, startBehaviour);
      counters.reset();
      faults.clear();
      clock.reset();
      if (opts.apps) apps.clear();
    },
  };

  for (const app of options.apps ?? []) controls.registerApp(app);

  const gateway: GatewayContext = {
    apps,
    auth: { apps, state, now, settings, alipayRootCertSn },
    routes: { state, counters, now, settings },
    counters,
    faults,
    responder: new GatewayResponder(alipayKey, alipayCertSn, now),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUri = req.url ?? '/';
    const q = rawUri.indexOf('?');
    const path = q >= 0 ? rawUri.slice(0, q) : rawUri;
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    if (path.startsWith(ADMIN_PREFIX)) {
      if (body === null) return void res.writeHead(413).end();
      return handleAdmin(method, path, body.toString('utf8'), res, controls);
    }
    if (path === TASK_PAGE_PATH || path === TASK_LAUNCH_PATH) {
      if (body === null) return void res.writeHead(413).end();
      return handleTaskPage(method, path, new URLSearchParams(q >= 0 ? rawUri.slice(q + 1) : ''), body.toString('utf8'), res, { apps, state });
    }
    if (path === AUTH_PAGE_PATH || path === BATCH_AUTH_PAGE_PATH) {
      if (body === null) return void res.writeHead(413).end();
      return handleAuthPage(method, path, new URLSearchParams(q >= 0 ? rawUri.slice(q + 1) : ''), body.toString('utf8'), res, { apps, state });
    }
    return handleGateway(req, res, path, body, gateway);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      console.error('[alipay-simulator] unexpected error', e);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(errorBody('unknow-error', '系统繁忙', 'simulator'));
      else res.destroy();
    });
  });
  // Longer than client agents' idle timeout, so the client closes idle keep-alive sockets first.
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_e, socket) => socket.destroy());

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    alipayPublicKeyPem,
    alipayPublicKeyBase64,
    controls,
    close: () =>
      new Promise<void>((resolve) => {
        outbox.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
