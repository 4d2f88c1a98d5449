// `nestjs-alipay-auth/testing`: what an app needs to test its own code that uses the library.
export { AlipayAuthTestingModule, AlipayAuthTestingKit } from './alipay-auth-testing.module';
export type { AlipayAuthTestingOptions } from './alipay-auth-testing.module';
export { InMemoryAlipayTokenStore } from './in-memory-token-store';
export type { InMemoryAlipayTokenStoreOptions, AlipayTokenStoreMethod } from './in-memory-token-store';
export { alipayTokenStoreContract } from './token-store-contract';
export type { AlipayTokenStoreContractHarness, AlipayContractTestApi } from './token-store-contract';
export * from './simulator';
