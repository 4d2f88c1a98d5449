// `nestjs-alipay-auth/testing`: what an app needs to test its own code that uses the library.
export { AlipayAuthTestingModule, AlipayAuthTestingKit } from './alipay-auth-testing.module';
export type { AlipayAuthTestingOptions } from './alipay-auth-testing.module';
export { InMemoryAlipayTokenStore } from './in-memory-token-store';
export type { InMemoryAlipayTokenStoreOptions, AlipayTokenStoreMethod } from './in-memory-token-store';
export { alipayTokenStoreContract } from './store-contract';
export type { AlipayTokenStoreContractHarness, AlipayContractTestApi } from './store-contract';
// The simulator is the package nestjs-alipay-auth-simulator (an optional peer, loaded when a kit starts).
export { startAlipaySimulator } from './simulator-package';
export { TOKEN_PATH, QUERY_PATH, TRADE_QUERY_PATH, AUTH_PAGE_PATH, BATCH_AUTH_PAGE_PATH } from '../signer/alipay-gateway-paths';
// Its types (AlipaySimulator, SimulatorControls, FaultInput...), for the kit's `simulator` and options.
export type * from 'nestjs-alipay-auth-simulator';
