import { ConfigurableModuleBuilder } from '@nestjs/common';
import { AlipayAuthModuleOptions } from './alipay-auth.options';
import { alipayTokenStoreProvider } from './storage/alipay-token-store.provider';

/** Options known when the module is declared (not from a factory), like `isGlobal`. */
export interface AlipayAuthModuleExtras {
  /** Global module (default true). */
  isGlobal: boolean;
  /** Name of the TypeORM data source that stores tokens. Default: the app's default data source. */
  dataSource?: string;
}

export const {
  ConfigurableModuleClass: AlipayAuthConfigurableModule,
  MODULE_OPTIONS_TOKEN: ALIPAY_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: ALIPAY_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ALIPAY_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AlipayAuthModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<AlipayAuthModuleExtras>({ isGlobal: true, dataSource: undefined }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [...(definition.providers ?? []), alipayTokenStoreProvider(extras.dataSource)],
  }))
  .build();
