import { InMemoryAlipayTokenStore } from 'nestjs-alipay-auth/testing';

/**
 * The app's own AlipayTokenStore. The library's in-memory store stands in here for one that keeps the rows
 * in the app's database (Redis, DynamoDB, Prisma...); `alipayTokenStoreContract` checks such a store.
 */
export class MerchantTokenStore extends InMemoryAlipayTokenStore {}
