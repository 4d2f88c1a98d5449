/**
 * docs/operating.md: the snippet is test/fixtures/operating-it.ts verbatim, and it works as shown —
 * health through terminus, the authorization link and its state, library errors through the filter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import cookieParser from 'cookie-parser';
import { AlipayAuthTestingKit, AlipayAuthTestingModule } from 'nestjs-alipay-auth/testing';
import request from 'supertest';
import { OperatingModule } from '../fixtures/operating-it';

const read = (p: string) => readFileSync(join(process.cwd(), p), 'utf8');
const REDIRECT = 'https://isv.example.com/alipay/callback';

describe('docs/operating.md', () => {
  let app: INestApplication;
  let kit: AlipayAuthTestingKit;
  let base: ReturnType<INestApplication['getHttpServer']>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AlipayAuthTestingModule.forRoot({ options: { authorizationLink: { stateSecret: 'x'.repeat(32), redirectUri: REDIRECT } } }), OperatingModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.use(cookieParser());
    await app.init();
    kit = moduleRef.get(AlipayAuthTestingKit);
    base = app.getHttpServer();
  });
  afterAll(() => app?.close());

  it('shows the wiring verbatim', () => {
    const blocks = [...read('docs/operating.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toContain(read('test/fixtures/operating-it.ts'));
  });

  it('health: up, with the token data under alipay_auth', async () => {
    const res = await request(base).get('/health').expect(200);
    expect(res.body.details.alipay_auth).toMatchObject({ status: 'up', active: 0, failing: 0, problems: [] });
  });

  it('link, then callback with its state and cookie: authorized; another browser: 400 through the filter', async () => {
    const start = await request(base).get('/alipay/authorize').expect(302);
    const link = new URL(start.headers.location);
    expect(link.pathname).toBe('/oauth2/appToAppAuth.htm');
    expect(link.searchParams.get('redirect_uri')).toBe(REDIRECT);
    const cookie = String(start.headers['set-cookie']).split(';')[0];
    const state = link.searchParams.get('state')!;

    const other = await request(base).get('/alipay/callback').query({ app_auth_code: kit.authorize().app_auth_code, state }).expect(400);
    expect(other.body.error).toMatchObject({ type: 'authorization-state', reason: 'no-cookie' });

    const { app_auth_code, auth_app_ids } = kit.authorize();
    const ok = await request(base).get('/alipay/callback').query({ app_auth_code, state }).set('cookie', cookie).expect(200);
    expect(ok.body).toEqual(auth_app_ids);

    // A spent code: Alipay refuses, the client gets Alipay's code and trace id.
    const spent = await request(base).get('/alipay/callback').query({ app_auth_code, state }).set('cookie', cookie).expect(502);
    expect(spent.body.error).toMatchObject({ type: 'alipay-error', alipayCode: expect.any(String), traceId: expect.any(String) });
  });
});
