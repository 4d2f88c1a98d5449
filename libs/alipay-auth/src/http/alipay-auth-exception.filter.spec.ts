import { jest } from '@jest/globals';
import { Controller, Get, INestApplication, Logger, Param, UseFilters } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationRequiredError,
  AlipayAuthorizationStateError,
  AlipayConfigError,
  AlipayInvalidInputError,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayStoreUnavailableError,
  AlipayTokenUnreadableError,
} from '../errors/alipay-auth.errors';
import { AlipayAuthExceptionFilter } from './alipay-auth-exception.filter';

const SECRET_TOKEN = '202611BB4f0c1c3e9a5d4e7f8a9b0c1d2e3f4A99';

const ERRORS: Record<string, () => Error> = {
  required: () => new AlipayAuthorizationRequiredError('2021004199990001', 'refresh-token-expired'),
  unreadable: () => new AlipayTokenUnreadableError('2021004199990001', 'key id k0 is not in "tokenEncryptionKeys"'),
  api: () =>
    new AlipayApiError({
      status: 400,
      code: 'invalid-auth-token',
      message: `app_auth_token ${SECRET_TOKEN} is invalid`,
      traceId: '0b1f2e3d4c5b6a7988',
      links: [{ link: 'https://example.com' }],
    }),
  signature: () => new AlipaySignatureError('response-signature-verify-error', 'Signature does not verify', '0b99aa'),
  timeout: () => new AlipayNetworkError('timeout', 'timeout of 10000ms exceeded', true),
  reset: () => new AlipayNetworkError('reset', 'socket hang up', true),
  config: () => new AlipayConfigError(`Option "privateKey" cannot be parsed: ${SECRET_TOKEN}`),
  state: () => new AlipayAuthorizationStateError('other-browser'),
  input: () => new AlipayInvalidInputError('appAuthCode', '"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]'),
  store: () =>
    new AlipayStoreUnavailableError(
      'find',
      Object.assign(new Error(`terminating connection due to administrator command: SELECT * FROM "alipay_authorizations" WHERE "token" = '${SECRET_TOKEN}'`), {
        code: '57P01',
      }),
    ),
  other: () => new AlipayAuthError(`something with ${SECRET_TOKEN}`),
  plain: () => new Error('not ours'),
};

@Controller()
@UseFilters(AlipayAuthExceptionFilter)
class ThrowingController {
  @Get('/fail/:kind')
  fail(@Param('kind') kind: string): never {
    throw ERRORS[kind]();
  }
}

describe('AlipayAuthExceptionFilter', () => {
  let app: INestApplication;
  let base: ReturnType<INestApplication['getHttpServer']>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ThrowingController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    base = app.getHttpServer();
  });
  afterAll(() => app.close());

  const fail = async (kind: string, status: number) => {
    const res = await request(base).get(`/fail/${kind}`).expect(status).expect('content-type', /json/);
    expect(JSON.stringify(res.body)).not.toContain(SECRET_TOKEN);
    return res.body as { statusCode: number; error: Record<string, unknown> };
  };

  it('AlipayAuthorizationRequiredError: 409 with the merchant and the reason', async () => {
    expect(await fail('required', 409)).toEqual({
      statusCode: 409,
      error: { type: 'authorization-required', message: expect.any(String), authAppId: '2021004199990001', reason: 'refresh-token-expired' },
    });
  });

  it("AlipayApiError: 502 with Alipay's code and trace id, not its message (it may echo the request)", async () => {
    expect(await fail('api', 502)).toEqual({
      statusCode: 502,
      error: { type: 'alipay-error', message: 'Alipay refused the request', alipayCode: 'invalid-auth-token', traceId: '0b1f2e3d4c5b6a7988' },
    });
  });

  it('AlipaySignatureError: 502 with its code and trace id', async () => {
    expect((await fail('signature', 502)).error).toMatchObject({ type: 'alipay-signature', alipayCode: 'response-signature-verify-error', traceId: '0b99aa' });
  });

  it('AlipayNetworkError: 504 for a timeout, 503 otherwise', async () => {
    expect((await fail('timeout', 504)).error).toEqual({ type: 'alipay-timeout', message: expect.any(String) });
    expect((await fail('reset', 503)).error).toEqual({ type: 'alipay-unreachable', message: expect.any(String) });
  });

  it('AlipayTokenUnreadableError: 503, the credential cannot be read, no key detail', async () => {
    const body = await fail('unreadable', 503);
    expect(body.error).toEqual({ type: 'token-unreadable', message: 'The stored credential of this merchant cannot be read', authAppId: '2021004199990001' });
    expect(JSON.stringify(body)).not.toContain('tokenEncryptionKeys');
  });

  it('AlipayStoreUnavailableError: 503, no operation, driver code, SQL or parameters', async () => {
    const body = await fail('store', 503);
    expect(body).toEqual({ statusCode: 503, error: { type: 'store-unavailable', message: 'The credential store is unavailable; try again later' } });
    expect(JSON.stringify(body)).not.toMatch(/57P01|SELECT|alipay_authorizations|find/);
  });

  it('AlipayAuthorizationStateError: 400 with the problem', async () => {
    expect((await fail('state', 400)).error).toMatchObject({ type: 'authorization-state', reason: 'other-browser' });
  });

  it('AlipayInvalidInputError: 400 naming the field, logged as a warning, never as an error', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      expect(await fail('input', 400)).toEqual({
        statusCode: 400,
        error: { type: 'invalid-input', message: '"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]', field: 'appAuthCode' },
      });
      expect(error).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledWith('"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]');
    } finally {
      error.mockRestore();
      warn.mockRestore();
    }
  });

  it('AlipayConfigError and other library errors: 500 without detail', async () => {
    expect(await fail('config', 500)).toEqual({ statusCode: 500, error: { type: 'configuration', message: 'Internal server error' } });
    expect(await fail('other', 500)).toEqual({ statusCode: 500, error: { type: 'internal', message: 'Internal server error' } });
  });

  it('leaves errors that are not the library’s to Nest', async () => {
    const res = await request(base).get('/fail/plain').expect(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });

  it('answers no-store', async () => {
    const res = await request(base).get('/fail/required').expect(409);
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
