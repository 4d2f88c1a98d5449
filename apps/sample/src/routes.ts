/** Paths that other parts (redirect_uri, notifyUrl, pages) build URLs from. */
export const AUTHORIZE_PATH = '/alipay/auth/authorize';
export const CALLBACK_PATH = '/alipay/auth/callback';
export const NOTIFY_PATH = '/alipay/notify';
export const MERCHANTS_PATH = '/alipay/merchants';
