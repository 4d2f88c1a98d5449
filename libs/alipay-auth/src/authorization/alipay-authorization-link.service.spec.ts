import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthorizationStateError, AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayAuthorizationLinkOptions, AlipayAuthorizationLinkService } from './alipay-authorization-link.service';

const APP_ID = '2021009000000001';
const SECRET = 'a-state-secret-of-at-least-32-characters!';
const REDIRECT = 'https://isv.example.com/alipay/auth/callback';
const T0 = 1_800_000_000_000;

function service(link: Partial<AlipayAuthorizationLinkOptions> | undefined, clock: { now: number }) {
  const config = { appId: APP_ID, authorizePageBaseUrl: 'https://openauth.alipay.com', clock: () => clock.now } as ResolvedAlipayAuthConfig;
  return new AlipayAuthorizationLinkService(config, link ? { stateSecret: SECRET, redirectUri: REDIRECT, ...link } : null);
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
    expect(link.state.split('.')[2]).toBe(nonce);
    expect(link.expiresAt.getTime()).toBe(T0 + 10 * 60_000);
    expect(links.verifyState(link.state, nonce)).toBe(nonce);
  });

  it('builds the batch page link with application_type (default TINYAPP,WEBAPP, configurable, per call)', () => {
    const links = service({ batchApplicationTypes: ['MOBILEAPP'] }, clock);
    const nonce = links.newNonce();
    const batch = new URL(links.createLink({ nonce, batch: true }).url);
    expect(batch.pathname).toBe('/oauth2/appToAppBatchAuth.htm');
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
    const [v, exp, n, mac] = state.split('.');
    const tampered = [v, (parseInt(exp, 36) + 60_000).toString(36), n, mac].join('.');
    expect(problemOf(() => links.verifyState(tampered, nonce))).toBe('bad-signature');
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
      expect((e as Error).message).not.toContain(state.split('.')[3]);
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
