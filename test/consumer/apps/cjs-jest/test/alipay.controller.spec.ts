import { Test } from '@nestjs/testing';
import { AlipayAuthExceptionFilter, AlipayTokenService } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit, AlipayAuthTestingModule } from 'nestjs-alipay-auth/testing';
import request from 'supertest';
import { AlipayController } from '../src/alipay.controller';

it('authorizes a merchant through the callback, then records its cancellation', async () => {
  const authorizationLink = { stateSecret: 'a-test-secret-of-32-characters-at-least', redirectUri: 'http://127.0.0.1/alipay/callback' };
  const moduleRef = await Test.createTestingModule({
    imports: [AlipayAuthTestingModule.forRoot({ options: { authorizationLink } })],
    controllers: [AlipayController],
  }).compile();
  const app = moduleRef.createNestApplication({ rawBody: true });
  app.useGlobalFilters(new AlipayAuthExceptionFilter());
  await app.listen(0, '127.0.0.1');
  const kit = app.get(AlipayAuthTestingKit);
  const http = request(app.getHttpServer());

  // The merchant follows the link, approves on the simulated Alipay, and comes back with a code.
  const link = await http.get('/alipay/authorize').expect(302);
  const state = new URL(link.headers.location).searchParams.get('state');
  const { app_auth_code, auth_app_ids: [merchant] } = kit.authorize();
  await http
    .get(`/alipay/callback?app_id=${kit.appId}&app_auth_code=${app_auth_code}&state=${state}`)
    .set('Cookie', link.headers['set-cookie'])
    .expect(200, { authorized: [merchant] });

  // Later the merchant cancels at Alipay, which notifies the app.
  kit.notifyTo(`${await app.getUrl()}/alipay/notify`);
  await kit.cancel(merchant);
  expect(await app.get(AlipayTokenService).get(merchant)).toMatchObject({ status: 'cancelled' });
  await app.close();
});
