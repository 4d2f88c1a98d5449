/** Alipay's routes as they go on the wire: the OpenAPI v3 calls (after the gateway URL) and the authorization pages. */
export const TOKEN_PATH = '/v3/alipay/open/auth/token/app';
export const QUERY_PATH = '/v3/alipay/open/auth/token/app/query';
/** A merchant API (the ISV acts for a merchant), so it needs `alipay-app-auth-token`. */
export const TRADE_QUERY_PATH = '/v3/alipay/trade/query';
export const AUTH_PAGE_PATH = '/oauth2/appToAppAuth.htm';
export const BATCH_AUTH_PAGE_PATH = '/oauth2/appToAppBatchAuth.htm';
/** The task link (指定应用授权): the PC task page of the merchant portal (query `bizData`). */
export const TASK_PAGE_PATH = '/page/message/tasksDetail';
/** The Alipay mini program the task link's phone QR opens. */
export const TASK_MINI_APP_ID = '2021003130652097';
/** Its page that shows the task (query `bizData`). */
export const TASK_MINI_APP_PAGE = 'pages/authorize/index';
/** A v3 upload (multipart: the signed `data` part, then the file part `image_content`). */
export const IMAGE_UPLOAD_PATH = '/v3/alipay/offline/material/image/upload';
