/** Alipay's routes as they go on the wire: the OpenAPI v3 calls (after the gateway URL) and the authorization pages. */
export const TOKEN_PATH = '/v3/alipay/open/auth/token/app';
export const QUERY_PATH = '/v3/alipay/open/auth/token/app/query';
/** A merchant API (the ISV acts for a merchant), so it needs `alipay-app-auth-token`. */
export const TRADE_QUERY_PATH = '/v3/alipay/trade/query';
export const AUTH_PAGE_PATH = '/oauth2/appToAppAuth.htm';
export const BATCH_AUTH_PAGE_PATH = '/oauth2/appToAppBatchAuth.htm';
