import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import type { AlipayTokenStore } from './alipay-token-store';

/**
 * What the TypeORM side hands the store provider: a way to build the TypeORM store on the data source,
 * no `createStore` when the app has no such data source, or the TypeORM package that is not installed.
 * Its own file, imported by both sides: `typeorm/typeorm-storage.module.ts` provides it, the store
 * provider injects it, and neither imports the other.
 */
export interface AlipayTypeOrmStorage {
  missingPackage?: string;
  createStore?: (config: ResolvedAlipayAuthConfig) => Promise<AlipayTokenStore>;
}

export const ALIPAY_TYPEORM_STORAGE = Symbol('AlipayTypeOrmStorage');
