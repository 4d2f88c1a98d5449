import { alipayNotificationParams } from './alipay-notification-endpoint';

const form = (body: string, type = 'application/x-www-form-urlencoded; charset=utf-8') => ({ headers: { 'content-type': type }, rawBody: Buffer.from(body) });

describe('alipayNotificationParams', () => {
  it('keeps the raw values in a map without a prototype', () => {
    const params = alipayNotificationParams(form('notify_id=n1&biz_content=%7B%22a%22%3A1%7D&empty='))!;
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect({ ...params }).toEqual({ notify_id: 'n1', biz_content: '{"a":1}', empty: '' });
  });

  it('refuses a repeated name and the names that reach prototypes', () => {
    expect(alipayNotificationParams(form('a=1&a=2'))).toBeNull();
    expect(alipayNotificationParams(form('__proto__=x&notify_id=n1'))).toBeNull();
    expect(alipayNotificationParams(form('constructor=x'))).toBeNull();
    expect(alipayNotificationParams(form('prototype=x'))).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what is not a form, or a form without its raw body', () => {
    expect(alipayNotificationParams(form('a=1', 'application/json'))).toBeNull();
    expect(alipayNotificationParams({ headers: { 'content-type': 'application/x-www-form-urlencoded' } })).toBeNull();
  });
});
