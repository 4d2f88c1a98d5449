import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ALIPAY_AUTH_APP_ID_PATTERN } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { explainCheck, explainCode } from '../views/messages';
import { operatorWords, OperatorLocale } from '../views/operator-text';

/** One-shot notice after an action (post/redirect/get): read once, so a reload shows no stale notice. */
const NOTICE_COOKIE = 'alipay_ops_notice';
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

export type NoticeEvent =
  | { kind: 'refreshed' | 'revoked'; authAppId: string }
  | { kind: 'refresh-failed' | 'check-failed'; authAppId: string; code: string; traceId?: string }
  | { kind: 'checked'; authAppId: string; outcome: string }
  | { kind: 'bulk-started'; job: string }
  | { kind: 'bulk-busy' };

export interface Notice {
  kind: 'ok' | 'err';
  text: string;
}

/** The notice as a cookie of ids and codes only (never free text: nothing can put words on the page), and its words. */
@Injectable()
export class OperatorNotice {
  constructor(@Inject(SAMPLE_CONFIG) private readonly config: SampleConfig) {}

  set(res: Response, e: NoticeEvent): void {
    const parts: string[] = [e.kind];
    if ('authAppId' in e) parts.push(e.authAppId);
    if ('code' in e) parts.push(e.code, ...(e.traceId ? [e.traceId] : []));
    if ('outcome' in e) parts.push(e.outcome);
    if ('job' in e) parts.push(e.job);
    res.cookie(NOTICE_COOKIE, parts.join('|'), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: 60_000,
      secure: this.config.publicBaseUrl.startsWith('https:'),
    });
  }

  /** The notice left by the last action, if any (cleared as it is read), in the page's language. */
  take(req: Request, res: Response, locale: OperatorLocale = 'en'): Notice | undefined {
    const raw: unknown = req.cookies?.[NOTICE_COOKIE];
    if (typeof raw !== 'string') return undefined;
    res.clearCookie(NOTICE_COOKIE, { path: '/' });
    const [kind, a, b, c] = raw.split('|');
    const w = operatorWords(locale);
    if (kind === 'bulk-busy') return { kind: 'err', text: w.bulkBusy };
    if (kind === 'bulk-started') return a === 'retry-failing' || a === 'check-verifying' ? { kind: 'ok', text: w.bulkStarted[a] } : undefined;
    if (!ALIPAY_AUTH_APP_ID_PATTERN.test(a ?? '')) return undefined;
    const trace = c && CODE.test(c) ? w.traceId(c) : '';
    switch (kind) {
      case 'refreshed':
        return { kind: 'ok', text: w.refreshed(a) };
      case 'revoked':
        return { kind: 'ok', text: w.revoked(a) };
      case 'checked':
        return CODE.test(b ?? '')
          ? { kind: b === 'verified' || b === 'refreshed' ? 'ok' : 'err', text: w.checkedNotice(a, explainCheck(b!, locale)) }
          : undefined;
      case 'refresh-failed':
      case 'check-failed':
        if (!CODE.test(b ?? '')) return undefined;
        return { kind: 'err', text: `${w.failedNotice(kind === 'refresh-failed' ? 'refresh' : 'check', a, explainCode(b, locale), b!)}${trace}` };
      default:
        return undefined;
    }
  }
}
