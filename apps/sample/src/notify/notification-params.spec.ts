import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { notificationParams } from './notify.controller';

const form = (body: string) =>
  ({ is: (type: string) => type === 'application/x-www-form-urlencoded', rawBody: Buffer.from(body) }) as unknown as RawBodyRequest<Request>;

describe('notificationParams', () => {
  it('keeps the raw values in a map without a prototype', () => {
    const params = notificationParams(form('notify_id=n1&biz_content=%7B%22a%22%3A1%7D&empty='))!;
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect({ ...params }).toEqual({ notify_id: 'n1', biz_content: '{"a":1}', empty: '' });
  });

  it('refuses a repeated name and the names that reach prototypes', () => {
    expect(notificationParams(form('a=1&a=2'))).toBeNull();
    expect(notificationParams(form('__proto__=x&notify_id=n1'))).toBeNull();
    expect(notificationParams(form('constructor=x'))).toBeNull();
    expect(notificationParams(form('prototype=x'))).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what is not a form', () => {
    expect(notificationParams({ is: () => false, rawBody: Buffer.from('a=1') } as unknown as RawBodyRequest<Request>)).toBeNull();
  });
});
