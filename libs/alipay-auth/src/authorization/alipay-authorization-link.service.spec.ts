import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthError, AlipayAuthorizationStateError, AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayAuthorizationLinkOptions, AlipayAuthorizationLinkService } from './alipay-authorization-link.service';

const APP_ID = '2021009000000001';
const SECRET = 'a-state-secret-of-at-least-32-characters!';
const REDIRECT = 'https://isv.example.com/alipay/auth/callback';
const T0 = 1_800_000_000_000;

const PRODUCTION = {
  authorizePageBaseUrl: 'https://openauth.alipay.com',
  taskPageBaseUrl: 'https://b.alipay.com',
  taskAppLaunchUrl: 'alipays://platformapi/startapp',
};

function service(link: Partial<AlipayAuthorizationLinkOptions> | undefined, clock: { now: number }, hosts: Partial<ResolvedAlipayAuthConfig> = PRODUCTION) {
  const config = { appId: APP_ID, ...hosts, clock: () => clock.now } as ResolvedAlipayAuthConfig;
  return new AlipayAuthorizationLinkService(config, link ? { stateSecret: SECRET, redirectUri: REDIRECT, ...link } : null);
}

/** The JSON of a task link's PC form (query `bizData`) and of its phone form (`page`, then its own `bizData`). */
function bizDataOf(url: string): unknown {
  return JSON.parse(new URL(url).searchParams.get('bizData')!);
}
function mobileBizDataOf(mobileUrl: string): unknown {
  const page = new URL(mobileUrl).searchParams.get('page')!;
  expect(page.startsWith('pages/authorize/index?bizData=')).toBe(true);
  return JSON.parse(page.slice('pages/authorize/index?bizData='.length));
}

function problemOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AlipayAuthorizationStateError) return e.problem;
    throw e;
  }
  return undefined;
}

describe('AlipayAuthorizationLinkService', () => {
  const clock = { now: T0 };
  beforeEach(() => (clock.now = T0));

  it('builds the single page link: app_id, redirect_uri as configured, a state bound to the nonce', () => {
    const links = service({}, clock);
    const nonce = links.newNonce();
    const link = links.createLink({ nonce });
    const url = new URL(link.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://openauth.alipay.com/oauth2/appToAppAuth.htm');
    expect(url.searchParams.get('app_id')).toBe(APP_ID);
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT);
    expect(url.searchParams.get('application_type')).toBeNull();
    expect(url.searchParams.get('state')).toBe(link.state);
    expect(link.state).toMatch(/^[A-Za-z0-9+/]{74}==$/);
    // The state is standard base64 and must survive the query string: `+`, `/` and `=` are escaped.
    expect(link.url).toContain(`&state=${encodeURIComponent(link.state)}`);
    expect(link.url).toBe(
      `https://openauth.alipay.com/oauth2/appToAppAuth.htm?app_id=${APP_ID}&redirect_uri=${encodeURIComponent(REDIRECT)}&state=${encodeURIComponent(link.state)}`,
    );
    expect(links.createLink({ nonce, flow: 'single' }).url).toBe(link.url);
    expect(link.expiresAt.getTime()).toBe(T0 + 10 * 60_000);
    expect(links.verifyState(link.state, nonce)).toBe(nonce);
  });

  it('builds the task link (指定应用授权): PC tasksDetail and alipays:// forms carrying the same bizData, encoded as Alipay documents', () => {
    const links = service({}, clock);
    const nonce = links.newNonce();
    const link = links.createLink({ nonce, flow: 'task' });
    const expected = {
      platformCode: 'O',
      taskType: 'INTERFACE_AUTH',
      agentOpParam: { redirectUri: REDIRECT, appTypes: ['TINYAPP', 'WEBAPP'], isvAppId: APP_ID, state: link.state },
    };
    // Field by field, and in Alipay's order.
    const pc = bizDataOf(link.url) as typeof expected;
    expect(Object.keys(pc)).toEqual(['platformCode', 'taskType', 'agentOpParam']);
    expect(Object.keys(pc.agentOpParam)).toEqual(['redirectUri', 'appTypes', 'isvAppId', 'state']);
    expect(pc).toEqual(expected);
    expect(mobileBizDataOf(link.mobileUrl)).toEqual(expected);
    // The exact strings: JSON URL-encoded once; the phone form's page prefix written already encoded.
    const json = encodeURIComponent(JSON.stringify(expected));
    expect(link.url).toBe(`https://b.alipay.com/page/message/tasksDetail?bizData=${json}`);
    expect(link.mobileUrl).toBe(`alipays://platformapi/startapp?appId=2021003130652097&page=pages%2Fauthorize%2Findex%3FbizData%3D${json}`);
    const mobile = new URL(link.mobileUrl);
    expect([...mobile.searchParams.keys()]).toEqual(['appId', 'page']);
    expect(mobile.searchParams.get('appId')).toBe('2021003130652097');
    expect(links.verifyState(pc.agentOpParam.state, nonce)).toBe(nonce);
    expect(link.expiresAt.getTime()).toBe(T0 + 10 * 60_000);
  });

  it('task link types: option taskApplicationTypes, per call applicationTypes; ARAPP and unknown types refused, naming the field', () => {
    const links = service({ taskApplicationTypes: ['MOBILEAPP', 'BASEAPP'] }, clock);
    const nonce = links.newNonce();
    const types = (l: { url: string }) => (bizDataOf(l.url) as { agentOpParam: { appTypes: string[] } }).agentOpParam.appTypes;
    expect(types(links.createLink({ nonce, flow: 'task' }))).toEqual(['MOBILEAPP', 'BASEAPP']);
    expect(types(links.createLink({ nonce, flow: 'task', applicationTypes: ['PUBLICAPP'] }))).toEqual(['PUBLICAPP']);
    expect(() => links.createLink({ nonce, flow: 'task', applicationTypes: ['ARAPP'] })).toThrow('"applicationTypes"');
    expect(() => links.createLink({ nonce, flow: 'task', applicationTypes: [] })).toThrow(AlipayAuthError);
    expect(() => service({ taskApplicationTypes: ['ARAPP'] }, clock)).toThrow('authorizationLink.taskApplicationTypes');
  });

  it('task link hosts follow the configuration: the simulator serves both forms; a gateway without a task page refuses, naming the options', () => {
    const sim = {
      authorizePageBaseUrl: 'http://127.0.0.1:4010',
      taskPageBaseUrl: 'http://127.0.0.1:4010',
      taskAppLaunchUrl: 'http://127.0.0.1:4010/platformapi/startapp',
    };
    const link = service({}, clock, sim).createLink({ nonce: service({}, clock).newNonce(), flow: 'task' });
    expect(link.url.startsWith('http://127.0.0.1:4010/page/message/tasksDetail?bizData=')).toBe(true);
    expect(link.mobileUrl.startsWith('http://127.0.0.1:4010/platformapi/startapp?appId=2021003130652097&page=pages%2Fauthorize%2Findex%3FbizData%3D')).toBe(
      true,
    );
    const sandbox = service({}, clock, { authorizePageBaseUrl: 'https://openauth-sandbox.dl.alipaydev.com', taskPageBaseUrl: null, taskAppLaunchUrl: null });
    expect(() => sandbox.createLink({ nonce: sandbox.newNonce(), flow: 'task' })).toThrow(AlipayConfigError);
    expect(() => sandbox.createLink({ nonce: sandbox.newNonce(), flow: 'task' })).toThrow('taskPageBaseUrl');
    expect(new URL(sandbox.createLink({ nonce: sandbox.newNonce() }).url).origin).toBe('https://openauth-sandbox.dl.alipaydev.com');
  });

  it('refuses a bad request naming the field: unknown flow, batch contradicting flow, types on the single link', () => {
    const links = service({}, clock);
    const nonce = links.newNonce();
    expect(() => links.createLink({ nonce, flow: 'multi' as never })).toThrow('"flow"');
    expect(() => links.createLink({ nonce, flow: 'task', batch: true })).toThrow('"batch: true"');
    expect(() => links.createLink({ nonce, applicationTypes: ['TINYAPP'] })).toThrow('"applicationTypes"');
    expect(() => links.createLink({ nonce: 'not-a-nonce' })).toThrow(AlipayAuthError);
    expect(() => links.createLink(undefined as never)).toThrow(AlipayAuthError);
  });

  it('builds the batch page link with application_type (default TINYAPP,WEBAPP, configurable, per call)', () => {
    const links = service({ batchApplicationTypes: ['MOBILEAPP'] }, clock);
    const nonce = links.newNonce();
    const batch = new URL(links.createLink({ nonce, batch: true }).url);
    expect(batch.pathname).toBe('/oauth2/appToAppBatchAuth.htm');
    expect(links.createLink({ nonce, flow: 'batch' }).url).toBe(batch.toString());
    expect([...batch.searchParams.keys()]).toEqual(['app_id', 'application_type', 'redirect_uri', 'state']);
    expect(batch.searchParams.get('app_id')).toBe(APP_ID);
    expect(batch.searchParams.get('redirect_uri')).toBe(REDIRECT);
    expect(batch.searchParams.get('application_type')).toBe('MOBILEAPP');
    expect(new URL(links.createLink({ nonce, batch: true, applicationTypes: ['TINYAPP', 'PUBLICAPP'] }).url).searchParams.get('application_type')).toBe(
      'TINYAPP,PUBLICAPP',
    );
    expect(new URL(service({}, clock).createLink({ nonce, batch: true }).url).searchParams.get('application_type')).toBe('TINYAPP,WEBAPP');
  });

  it('names what is wrong with a callback state: expired, tampered, other browser, no nonce, malformed', () => {
    const links = service({ stateTtlMs: 5 * 60_000 }, clock);
    const nonce = links.newNonce();
    const { state } = links.createLink({ nonce });
    clock.now = T0 + 5 * 60_000 - 1;
    expect(links.verifyState(state, nonce)).toBe(nonce);
    clock.now = T0 + 5 * 60_000;
    expect(problemOf(() => links.verifyState(state, nonce))).toBe('expired');
    clock.now = T0;
    const bytes = Buffer.from(state, 'base64');
    bytes.writeUIntBE(bytes.readUIntBE(1, 6) + 60_000, 1, 6);
    expect(problemOf(() => links.verifyState(bytes.toString('base64'), nonce))).toBe('bad-signature');
    expect(problemOf(() => service({ stateSecret: 'another-secret-of-at-least-32-characters' }, clock).verifyState(state, nonce))).toBe('bad-signature');
    expect(problemOf(() => links.verifyState(state, links.newNonce()))).toBe('other-browser');
    expect(problemOf(() => links.verifyState(state, undefined))).toBe('no-cookie');
    expect(problemOf(() => links.verifyState('v1.x', nonce))).toBe('malformed');
  });

  it('the typed error carries the problem, never the state', () => {
    const links = service({}, clock);
    const { state } = links.createLink({ nonce: links.newNonce() });
    try {
      links.verifyState(state, links.newNonce());
      throw new Error('not refused');
    } catch (e) {
      expect(e).toBeInstanceOf(AlipayAuthorizationStateError);
      expect((e as Error).message).not.toContain(state.slice(30, 60));
    }
  });

  it('refuses bad options at construction, naming the option and not its value', () => {
    const bad: Array<[Partial<AlipayAuthorizationLinkOptions>, string]> = [
      [{ stateSecret: 'short-secret' }, 'authorizationLink.stateSecret'],
      [{ redirectUri: '/alipay/auth/callback' }, 'authorizationLink.redirectUri'],
      [{ redirectUri: 'ftp://isv.example.com/cb' }, 'authorizationLink.redirectUri'],
      [{ stateTtlMs: 1000 }, 'authorizationLink.stateTtlMs'],
      [{ batchApplicationTypes: ['GAME' as never] }, 'authorizationLink.batchApplicationTypes'],
    ];
    for (const [options, name] of bad) {
      expect(() => service(options, clock)).toThrow(AlipayConfigError);
      expect(() => service(options, clock)).toThrow(name);
    }
    expect(() => service({ stateSecret: 'short-secret' }, clock)).not.toThrow(/short-secret/);
  });

  it('without option authorizationLink the module still loads; using the service says what is missing', () => {
    const links = service(undefined, clock);
    expect(() => links.createLink({ nonce: links.newNonce() })).toThrow(AlipayConfigError);
    expect(() => links.verifyState('v1.a.b.c', 'x')).toThrow('Option "authorizationLink"');
  });
});
