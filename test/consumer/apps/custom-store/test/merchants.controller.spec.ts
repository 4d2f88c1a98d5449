import { Test } from '@nestjs/testing';
import { AlipayAuthTestingKit, AlipayAuthTestingModule } from 'nestjs-alipay-auth/testing';
import { MerchantTokenStore } from '../src/merchant-token.store';
import { MerchantsController } from '../src/merchants.controller';
import { MerchantsModule } from '../src/merchants.module';
import { assertTypeOrmAbsent } from '../src/typeorm-absent';

it('stores the authorization of a merchant who approved in the app store, without TypeORM', async () => {
  assertTypeOrmAbsent();
  const store = new MerchantTokenStore();
  const moduleRef = await Test.createTestingModule({ imports: [AlipayAuthTestingModule.forRoot({ store }), MerchantsModule] }).compile();
  await moduleRef.init();
  const { app_auth_code, auth_app_ids } = moduleRef.get(AlipayAuthTestingKit).authorize();

  const controller = moduleRef.get(MerchantsController);
  expect(await controller.authorized({ code: app_auth_code })).toEqual({ authAppId: auth_app_ids[0], status: 'active' });
  expect(await store.find(moduleRef.get(AlipayAuthTestingKit).appId, auth_app_ids[0])).toMatchObject({ status: 'active' });
  await moduleRef.close();
});
