import type { AlipayAuthorizationListItem } from 'nestjs-alipay-auth';
import { healthReason } from '../health/health-banner';
import { merchantState } from './merchant-state';
import { ALL_SENTENCES } from './messages';
import { operatorsPage, OperatorsPageInput } from './operators-page';
import { operatorLocale, operatorWords, OperatorLocale } from './operator-text';
import { revokeConfirmPage } from './revoke-page';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1, 10, 0);
const refresh = { refreshAheadMs: 30 * DAY, refreshTokenSafetyMs: 30 * DAY, maxTokenAgeMs: 0 };

function row(over: Partial<AlipayAuthorizationListItem> = {}): AlipayAuthorizationListItem {
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
    ...over,
  } as AlipayAuthorizationListItem;
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
      locale: 'en',
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

/** Every state, notice, banner and panel the page can show at once. */
function fullPage(locale: OperatorLocale): string {
  const input: OperatorsPageInput = {
    mode: 'simulation',
    link: {
      appId: '2021004100000001',
      authorizeUrl: 'http://localhost:3000/alipay/auth/authorize',
      task: {
        pcUrl: 'http://localhost:3000/alipay/auth/authorize?flow=task',
        phoneUrl: 'http://localhost:3000/alipay/auth/authorize?flow=task&device=phone',
        qrSvg: '<svg></svg>',
      },
      batchAuthorizeUrl: 'http://localhost:3000/alipay/auth/authorize?batch=1',
      qrWarning: operatorWords(locale).qrSimulation('http://localhost:3000', true),
    },
    alipayPageBase: 'http://localhost:3000/simulator',
    merchants: [
      row({ authAppId: '2021004199990001', lastFailureAt: new Date(T0 - DAY) }),
      row({
        authAppId: '2021004199990002',
        failureCount: 3,
        lastErrorCode: 'isp.unknow-error',
        lastFailureAt: new Date(T0),
        nextAttemptAt: new Date(T0 + 60_000),
      }),
      row({ authAppId: '2021004199990003', failureCount: 1, lastErrorCode: 'network-timeout', verifyAt: new Date(T0 + 5000) }),
      row({ authAppId: '2021004199990004', unreadable: 'unknown-key: key k0 is not configured', failureCount: 1, lastErrorCode: 'row-unreadable' }),
      row({ authAppId: '2021004199990005', status: 'reauthorization_required', statusReason: 'invalid-app-refresh-token' }),
      row({ authAppId: '2021004199990006', status: 'cancelled' }),
      row({ authAppId: '2021004199990007', status: 'revoked', statusReason: 'REFRESH_TOKEN_NOT_EXIST' }),
    ],
    state: (m) => merchantState(m, refresh, (due) => new Date(due), T0, locale),
    total: 500,
    list: { view: 'attention', q: 'bad id!', searchError: true, sort: 'lastFailure', page: 2, size: 50, lang: locale },
    counts: { attention: 4, all: 500, healthy: 493, failing: 1, verifying: 1, unreadable: 1, reauthorization_required: 1, revoked: 1, cancelled: 1 },
    highlight: '2021004199990002',
    notice: { kind: 'err', text: operatorWords(locale).failedNotice('refresh', '2021004199990002', 'x', 'isp.unknow-error') },
    health: {
      reasons: [
        'Alipay reports a configuration error (isv.invalid-app-id); scheduled refresh stopped',
        '1 row(s) cannot be decrypted',
        '2 active row(s) overdue for refresh',
        '1 of 494 active row(s) failing to refresh',
        '1 of 494 active row(s) awaiting verification',
        '1 active row(s) hold a credential of another Alipay app (APP_ID_NOT_CONSISTENT), e.g. merchant app 2021004199990009: the merchant must authorize app 2021004100000001 again',
        'last scheduled run finished 4000 s ago',
      ].map(healthReason),
    },
    bulk: { kind: 'retry-failing', total: 10, done: 4, failed: 1, startedAt: new Date(T0).toISOString(), finishedAt: null },
    csrf: 'token',
    adminProtected: false,
    timeZone: 'Asia/Shanghai',
    locale,
  };
  return operatorsPage(input);
}

/**
 * What a reader sees or hears, minus what is not a sentence: elements marked English (the switch's
 * "English"), code, ids, codes, URLs, paths, constant names and the zone. English words left are sentences
 * no one translated.
 */
function englishLeft(htmlText: string): string[] {
  const spoken = htmlText
    .replace(/<style>[\s\S]*?<\/style>|<svg>[\s\S]*?<\/svg>|<code>[\s\S]*?<\/code>/g, ' ')
    .replace(/<[^>]+\slang="en"[^>]*>[\s\S]*?<\/[a-z]+>/g, ' ')
    // Attributes read aloud or shown on hover count as text.
    .replace(/<[^>]*?(?:aria-label|title)="([^"]*)"[^>]*>/g, ' $1 ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&[a-z]+;|&#\d+;/g, ' ');
  return (
    spoken
      .replace(/https?:\/\/\S+|\/[\w/.-]*|\b[A-Z][a-z]+\/[A-Za-z_]+\b/g, ' ') // URLs, paths, zones
      .replace(/\b[A-Z][A-Z0-9_]+\b/g, ' ') // constants and codes: ADMIN_TOKEN, REFRESH_TOKEN_NOT_EXIST, CSV, UTC
      .replace(/\b[a-z0-9]+(?:[.-][a-z0-9]+)+\b/g, ' ') // codes and names: isp.unknow-error, nestjs-alipay-auth
      .replace(/\bnpm run \w+/g, ' ')
      .match(/[A-Za-z]{4,}/g) ?? []
  );
}

describe("the operators' page in Chinese and English", () => {
  it('has every key in both languages, with the same shape (a missing one is also a compile error)', () => {
    const shape = (v: unknown): unknown =>
      typeof v === 'function'
        ? 'fn'
        : v && typeof v === 'object' && !('value' in v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
          : 'text';
    expect(shape(operatorWords('zh-CN'))).toEqual(shape(operatorWords('en')));
    for (const s of ALL_SENTENCES) {
      expect(s.en).toMatch(/[A-Za-z]/);
      expect(englishLeft(s['zh-CN'])).toEqual([]);
    }
  });

  it('leaves no English sentence on the Chinese page (the same check finds plenty on the English one)', () => {
    const zh = fullPage('zh-CN');
    expect(englishLeft(zh)).toEqual([]);
    expect(englishLeft(fullPage('en')).length).toBeGreaterThan(100);
    expect(zh).toMatch(/^<!DOCTYPE html>\n<html lang="zh-CN">/);
    expect(zh).toContain('需要处理');
    expect(zh).toContain('第 2 页，共 10 页');
    // The health lines, each read back from the library's wording.
    expect(zh).toContain('494 条有效授权中有 1 条刷新失败');
  });

  it('offers "中文 / English", each in its language, and carries the choice in every link and form', () => {
    const zh = fullPage('zh-CN');
    const nav = /<nav class="lang-switch"[\s\S]*?<\/nav>/.exec(zh)![0];
    expect(nav).toContain('aria-label="语言"');
    expect(nav).toMatch(/<a href="[^"]*lang=zh-CN[^"]*" lang="zh-CN" hreflang="zh-CN" aria-current="true">中文<\/a>/);
    expect(nav).toMatch(/<a href="[^"]*lang=en[^"]*" lang="en" hreflang="en">English<\/a>/);
    expect(zh).toContain('<input type="hidden" name="lang" value="zh-CN" />');
    for (const back of zh.matchAll(/name="back" value="([^"]*)"/g)) expect(back[1]).toContain('lang=zh-CN');
    expect(zh).toMatch(/<a href="[^"]*lang=zh-CN[^"]*" data-count="failing"/);
    // The CSV keeps English headers whatever the page's language: no lang in its link.
    expect(/id="export-csv" href="([^"]*)"/.exec(zh)![1]).not.toContain('lang=');
  });

  it('defaults to Accept-Language; an explicit choice wins', () => {
    expect(operatorLocale(undefined, 'zh-CN,zh;q=0.9')).toBe('zh-CN');
    expect(operatorLocale(undefined, undefined)).toBe('en');
    expect(operatorLocale('en', 'zh-CN')).toBe('en');
  });

  it('asks "stop serving?" in the chosen language', () => {
    const confirm = revokeConfirmPage({ merchant: row(), csrf: 't', back: 'lang=zh-CN', cancelUrl: '/?lang=zh-CN', locale: 'zh-CN' });
    expect(confirm).toContain('<html lang="zh-CN">');
    expect(englishLeft(confirm)).toEqual([]);
  });
});
