import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { AlipayAuthEvent, type AlipayAuthEventPayload } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit, AlipayAuthTestingModule } from 'nestjs-alipay-auth/testing';
import { expect, it } from 'vitest';
import { MerchantsController } from '../src/merchants.controller.js';
import { MerchantsModule } from '../src/merchants.module.js';

class Authorized {
  readonly seen: string[] = [];
  @OnEvent(AlipayAuthEvent.Authorized)
  on(payload: AlipayAuthEventPayload) {
    this.seen.push(payload.authorization.authAppId);
  }
}

it('stores the authorization of a merchant who approved, and says so', async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [EventEmitterModule.forRoot(), AlipayAuthTestingModule.forRoot(), MerchantsModule],
    providers: [Authorized],
  }).compile();
  await moduleRef.init();
  const kit = moduleRef.get(AlipayAuthTestingKit);
  const { app_auth_code, auth_app_ids } = kit.authorize();

  const controller = moduleRef.get(MerchantsController);
  expect(await controller.authorized({ code: app_auth_code })).toEqual({ authAppId: auth_app_ids[0], status: 'active' });
  expect(moduleRef.get(Authorized).seen).toEqual(auth_app_ids);
  await moduleRef.close();
});
