import { ConfigurableModuleBuilder } from '@nestjs/common';
import { AlipayAuthModuleOptions } from './alipay-auth.options';

export const {
  ConfigurableModuleClass: AlipayAuthConfigurableModule,
  MODULE_OPTIONS_TOKEN: ALIPAY_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: ALIPAY_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ALIPAY_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AlipayAuthModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
