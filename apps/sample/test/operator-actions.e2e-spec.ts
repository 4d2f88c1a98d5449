/**
 * The operators' actions over HTTP, in simulation mode: check with Alipay, stop serving (confirmed on a page
 * of its own), the bulk retry with its progress, the CSV export of a view; every state-changing form needs
 * its session-bound csrf field, and each returns to the list the operator came from.
 */
import request from 'supertest';
import { TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import type { AlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { ALIPAY_SETUP, AlipaySetup } from '../src/alipay/alipay-setup';
import { SimulatedSample, startSimulatedSample } from './simulated-sample';

const M = ['2021004166660001', '2021004166660002', '2021004166660003', '2021004166660004', '2021004166660005'];
const BACK = 'view=all&sort=expires&page=1&size=20';
let sample: SimulatedSample;
let controls: AlipaySimulator['controls'];
let appId: string;
// Simulation mode has no ADMIN_TOKEN: any Bearer header is an API client.
const bearer = { authorization: 'Bearer sim', accept: 'application/json' };

/** A browser: the operator session cookie, and the csrf field of the page's forms. */
async function operator(): Promise<{ agent: ReturnType<typeof request.agent>; csrf: string }> {
  const agent = request.agent(sample.base);
  const page = await agent.get('/?view=all').expect(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!csrf) throw new Error('no csrf field on the page');
  return { agent, csrf };
}

const state = async (id: string) => (await request(sample.base).get(`/alipay/merchants/${id}`).set(bearer).expect(200)).body;

beforeAll(async () => {
  sample = await startSimulatedSample('sample-actions');
  const setup = sample.app.get<AlipaySetup>(ALIPAY_SETUP);
  controls = setup.simulator!.controls as AlipaySimulator['controls'];
  appId = setup.moduleOptions.appId;
  for (const id of M) {
    const { app_auth_code: code } = controls.authorize(appId, { authAppId: id, userId: `2088${id.slice(-12)}` });
    await request(sample.base).get(`/alipay/auth/callback?app_id=${appId}&app_auth_code=${code}`).set('accept', 'application/json').expect(200);
  }
});

afterAll(() => sample?.close());

describe("operators' actions", () => {
  it('"Check with Alipay": csrf required, then back to the same list and row with the answer in words; JSON with Bearer', async () => {
    const { agent, csrf } = await operator();
    await agent.post(`/alipay/merchants/${M[0]}/check`).type('form').send({ back: BACK }).expect(403);
    const done = await agent.post(`/alipay/merchants/${M[0]}/check`).type('form').send({ csrf, back: BACK }).expect(303);
    expect(done.headers.location).toBe(`/?view=all&sort=expires&size=20&at=${M[0]}#m-${M[0]}`);
    const page = await agent.get(done.headers.location.split('#')[0]).expect(200);
    expect(page.text).toContain(`Merchant app ${M[0]}: Alipay confirms the stored token is valid.`);
    expect(page.text).toMatch(new RegExp(`<tr id="m-${M[0]}"[^>]*class="[^"]*highlight`));
    // An altered "back" is not followed: the operator lands on the page's default list.
    const altered = await agent.post(`/alipay/merchants/${M[0]}/check`).type('form').send({ csrf, back: 'view=nope' }).expect(303);
    expect(altered.headers.location).toBe('/');
    const json = await request(sample.base).post(`/alipay/merchants/${M[0]}/check`).set(bearer).expect(200);
    expect(json.body).toMatchObject({ alipayStatus: 'valid', outcome: 'verified', authorization: { authAppId: M[0], status: 'active' } });
  });

  it('"Stop serving" asks first on a page of its own; the confirmed form revokes and returns; the row then offers the link', async () => {
    const { agent, csrf } = await operator();
    const confirm = await agent.get(`/alipay/merchants/${M[1]}/revoke?back=${encodeURIComponent(BACK)}`).expect(200);
    expect(confirm.text).toContain(`Stop serving merchant app <span class="mono">${M[1]}</span>?`);
    expect(confirm.text).toContain(`href="/?view=all&amp;sort=expires&amp;size=20&amp;at=${M[1]}#m-${M[1]}"`); // "Keep serving"
    expect((await state(M[1])).status).toBe('active');
    await agent.post(`/alipay/merchants/${M[1]}/revoke`).type('form').send({ back: BACK }).expect(403);
    const field = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1];
    const done = await agent.post(`/alipay/merchants/${M[1]}/revoke`).type('form').send({ csrf: field, back: BACK }).expect(303);
    expect(done.headers.location).toBe(`/?view=all&sort=expires&size=20&at=${M[1]}#m-${M[1]}`);
    expect(await state(M[1])).toMatchObject({ status: 'revoked', statusReason: 'revoked by an operator' });
    const page = await agent.get('/?view=revoked').expect(200);
    expect(page.text).toContain(`Merchant app ${M[1]} is no longer served`);
    expect(page.text).toContain(`aria-label="Authorization link for merchant app ${M[1]}"`);
    expect(csrf).toBeTruthy();
    await request(sample.base).post(`/alipay/merchants/2021004166669999/revoke`).set(bearer).expect(404);
  });

  it('"Retry all failing" runs in the background, bounded, with its progress; the failing merchants are served again', async () => {
    for (const id of [M[2], M[3]]) {
      controls.addFault({ route: TOKEN_PATH, kind: 'rate-limit', grantType: 'refresh_token', count: 1 });
      await request(sample.base).post(`/alipay/merchants/${id}/refresh`).set(bearer).expect(502);
    }
    expect((await state(M[2])).failureCount).toBe(1);
    const { agent, csrf } = await operator();
    const page = await agent.get('/?view=failing').expect(200);
    expect(page.text).toContain('Retry all failing (2)');
    await agent.post('/alipay/bulk/retry-failing').type('form').send({ back: 'view=failing' }).expect(403);
    const started = await agent.post('/alipay/bulk/retry-failing').type('form').send({ csrf, back: 'view=failing' }).expect(303);
    expect(started.headers.location).toBe('/?view=failing#bulk');
    let progress: { total: number; done: number; failed: number; finishedAt: string | null } | null = null;
    for (let i = 0; i < 100 && !progress?.finishedAt; i++) {
      progress = (await request(sample.base).get('/alipay/bulk').set(bearer).expect(200)).body.progress;
      if (!progress?.finishedAt) await new Promise((r) => setTimeout(r, 50));
    }
    expect(progress).toMatchObject({ kind: 'retry-failing', total: 2, done: 2, failed: 0 });
    expect((await state(M[2])).failureCount).toBe(0);
    expect((await state(M[3])).failureCount).toBe(0);
    const after = await agent.get('/?view=failing').expect(200);
    expect(after.text).toContain('Retry of failing merchants');
    expect(after.text).toContain('2 of 2 done — finished.');
    await request(sample.base).post('/alipay/bulk/nope').set(bearer).expect(400);
  });

  it('the JSON list takes the same views, search and orders', async () => {
    const revoked = await request(sample.base).get('/alipay/merchants?view=revoked').set(bearer).expect(200);
    expect(revoked.body.items.map((m: { authAppId: string }) => m.authAppId)).toEqual([M[1]]);
    const found = await request(sample.base)
      .get(`/alipay/merchants?q=2088${M[4].slice(-12)}`)
      .set(bearer)
      .expect(200);
    expect(found.body).toMatchObject({ total: 1, items: [{ authAppId: M[4] }] });
    await request(sample.base).get('/alipay/merchants?q=a-b').set(bearer).expect(400);
    await request(sample.base).get('/alipay/merchants?sort=nope').set(bearer).expect(400);
  });

  it('CSV export of a view, streamed, with the derived state', async () => {
    const all = await request(sample.base).get('/alipay/merchants.csv?view=all&sort=expires').set(bearer).expect(200);
    expect(all.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(all.headers['content-disposition']).toBe('attachment; filename="merchants-all.csv"');
    const lines = all.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'authAppId,userId,state,status,statusReason,authorizedAt,expiresAt,refreshExpiresAt,lastRefreshedAt,lastCheckedAt,failureCount,lastErrorCode,lastFailureAt,nextAttemptAt,verifyAt',
    );
    expect(lines).toHaveLength(1 + M.length);
    expect(lines.find((l) => l.startsWith(M[1]))).toContain(',revoked,revoked,revoked by an operator,');
    const revoked = await request(sample.base).get('/alipay/merchants.csv?view=revoked').set(bearer).expect(200);
    expect(revoked.text.trim().split('\r\n')).toHaveLength(2);
    await request(sample.base).get('/alipay/merchants.csv?view=nope').set(bearer).expect(400);
  });
});
