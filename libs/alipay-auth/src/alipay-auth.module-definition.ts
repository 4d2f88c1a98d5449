import { ConfigurableModuleBuilder, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlipayAuthModuleOptions } from './alipay-auth.options';
import { ALIPAY_AUTH_ENTITIES } from './storage/alipay-authorization.entity';
import { alipayTokenStoreProvider } from './storage/alipay-token-store.provider';

/** Options known when the module is declared (not from a factory), like `isGlobal`. */
export interface AlipayAuthModuleExtras {
  /** Global module (default true). */
  isGlobal: boolean;
  /** Name of the TypeORM data source that stores tokens. Default: the app's default data source. */
  dataSource?: string;
}

/**
 * For `forRootAsync({ useClass })` / `useExisting`: a provider with this method returns the options,
 * as `TypeOrmOptionsFactory.createTypeOrmOptions()` does for `@nestjs/typeorm`.
 */
export interface AlipayAuthOptionsFactory {
  createAlipayAuthOptions(): AlipayAuthModuleOptions | Promise<AlipayAuthModuleOptions>;
}

/** A `store` given in `forRoot` options (unknown for `forRootAsync` until the factory runs). */
function customStoreGiven(providers: Provider[] | undefined): boolean {
  return (providers ?? []).some((p) => typeof p === 'object' && 'useValue' in p && p.provide === ALIPAY_AUTH_MODULE_OPTIONS && !!(p.useValue as AlipayAuthModuleOptions)?.store);
}

export const {
  ConfigurableModuleClass: AlipayAuthConfigurableModule,
  MODULE_OPTIONS_TOKEN: ALIPAY_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: ALIPAY_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ALIPAY_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AlipayAuthModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAlipayAuthOptions')
  .setExtras<AlipayAuthModuleExtras>({ isGlobal: true, dataSource: undefined }, (definition, extras) => {
    // Registers the entities as `TypeOrmModule.forFeature` does, so `autoLoadEntities: true` picks them up
    // (the repository providers it would add are not needed: the store runs its own SQL).
    if (!customStoreGiven(definition.providers)) TypeOrmModule.forFeature(ALIPAY_AUTH_ENTITIES, extras.dataSource);
    return {
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), alipayTokenStoreProvider(extras.dataSource)],
    };
  })
  .build();
