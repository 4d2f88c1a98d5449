import type { AlipayAuthorizationInfo } from 'nestjs-alipay-auth';
import { merchantState } from './merchant-state';
import { operatorsPage } from './operators-page';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1, 10, 0);
const refresh = { refreshAheadMs: 30 * DAY, refreshTokenSafetyMs: 30 * DAY, maxTokenAgeMs: 0 };

function row(over: Partial<AlipayAuthorizationInfo> = {}): AlipayAuthorizationInfo {
  return {
    appId: '2021004100000001',
    authAppId: '2021004199990001',
    userId: '2088000000000001',
    expiresAt: new Date(T0 + 365 * DAY),
    refreshExpiresAt: new Date(T0 + 730 * DAY),
    tokenIssuedAt: new Date(T0),
    status: 'active',
    statusReason: null,
    authorizedAt: new Date(T0),
    lastRefreshedAt: null,
    lastCheckedAt: null,
    failureCount: 0,
    lastErrorCode: null,
    nextAttemptAt: null,
    verifyAt: null,
    unreadable: null,
    maskedToken: '202605…F12',
    ...over,
  } as AlipayAuthorizationInfo;
}

describe("operators' page states", () => {
  it('a healthy row: active, next refresh 30 days before expiry, no attention', () => {
    expect(merchantState(row(), refresh)).toEqual({
      badge: 'active',
      label: 'active',
      next: { label: 'refresh', at: new Date(T0 + 335 * DAY) },
      attention: false,
    });
  });

  it('a failing row is not shown as active: its failures, the retry time, needs attention', () => {
    const st = merchantState(row({ failureCount: 3, lastErrorCode: 'isp.unknow-error', nextAttemptAt: new Date(T0 + 60_000) }), refresh);
    expect(st).toMatchObject({
      badge: 'failing',
      detail:
        '3 failed refreshes. Alipay answered with an internal error; the result is unknown, so the stored tokens will be checked before the next try. (code isp.unknow-error)',
      next: { label: 'retry', at: new Date(T0 + 60_000) },
      attention: true,
    });
  });

  it('a row in doubt is "verifying" (with its check time); an undecryptable one "unreadable" (no refresh planned)', () => {
    expect(merchantState(row({ verifyAt: new Date(T0 + 5000), failureCount: 1 }), refresh)).toMatchObject({
      badge: 'verifying',
      next: { label: 'check' },
      attention: true,
    });
    expect(merchantState(row({ unreadable: 'key k0 is not configured', verifyAt: new Date(T0) }), refresh)).toMatchObject({
      badge: 'unreadable',
      detail: 'The stored tokens cannot be decrypted; this merchant is not served until the key is restored. (key k0 is not configured)',
      next: null,
      attention: true,
    });
  });

  it('the next time shown is the scheduled run that will do the work, never a time already past', () => {
    const now = T0 + 400 * DAY;
    const nextTick = (due: number, at: number) => new Date(Math.max(due, at) + 600_000);
    // Due 35 days ago: the next run after now, not the due time.
    expect(merchantState(row(), refresh, nextTick, now).next).toEqual({ label: 'refresh', at: new Date(now + 600_000) });
    // No schedule in this instance: the due time, said to be only that.
    expect(merchantState(row(), refresh, () => null, now).next).toEqual({ label: 'refresh', at: new Date(T0 + 335 * DAY), unscheduled: true });
  });

  it('cancelled: no token expiry, no refresh button; reauthorization_required needs attention', () => {
    expect(merchantState(row({ status: 'cancelled' }), refresh)).toMatchObject({ badge: 'cancelled', next: null, attention: false });
    expect(merchantState(row({ status: 'reauthorization_required', statusReason: 'invalid-app-refresh-token' }), refresh)).toMatchObject({ attention: true });
    const input: Parameters<typeof operatorsPage>[0] = {
      mode: 'alipay',
      link: {
        appId: '2021004100000001',
        authorizeUrl: 'https://isv.example.com/alipay/auth/authorize',
        task: {
          pcUrl: 'https://isv.example.com/alipay/auth/authorize?flow=task',
          phoneUrl: 'https://isv.example.com/alipay/auth/authorize?flow=task&device=phone',
          qrSvg: '<svg></svg>',
        },
      },
      alipayPageBase: 'https://openauth.alipay.com',
      merchants: [row({ status: 'cancelled' })],
      state: (m) => merchantState(m, refresh),
      total: 1,
      list: { view: 'all', q: '', sort: 'authorized', page: 1, size: 50 },
      counts: { attention: 0, all: 1, healthy: 0, failing: 0, verifying: 0, unreadable: 0, reauthorization_required: 0, revoked: 0, cancelled: 1 },
      csrf: 'token',
      adminProtected: true,
      timeZone: 'Asia/Shanghai',
    };
    const page = operatorsPage(input);
    const tr = /<tr id="m-2021004199990001" data-auth-app-id="2021004199990001"[\s\S]*?<\/tr>/.exec(page)![0];
    expect(tr).toContain('data-state="cancelled"');
    expect(tr).not.toContain('expires');
    expect(tr).not.toContain('Refresh now');
    expect(tr).toContain('Send the merchant this link');
    expect(tr).toContain('The merchant cancelled the authorization in Alipay.');
    // The authorization time in the ISV's zone, the instant in UTC on hover.
    expect(tr).toContain('<time datetime="2026-05-01T10:00:00.000Z" title="2026-05-01 10:00 UTC">2026-05-01 18:00</time>');
    expect(page).toContain('Times in Asia/Shanghai (UTC on hover).');
    // The last failure stays as history after a success, in the operator's zone.
    const failed = operatorsPage({ ...input, merchants: [row({ lastFailureAt: new Date(T0 + 3_600_000) })] });
    expect(failed).toContain(
      '<div class="muted last-failure">last failed <time datetime="2026-05-01T11:00:00.000Z" title="2026-05-01 11:00 UTC">2026-05-01 19:00</time></div>',
    );
  });
});
