import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ALIPAY_AUTH_APP_ID_PATTERN } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { explainCheck, explainCode } from '../views/messages';

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

const BULK_NAMES: Record<string, string> = { 'retry-failing': 'Retrying every failing merchant', 'check-verifying': 'Checking every verifying merchant' };

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

  /** The notice left by the last action, if any (cleared as it is read). */
  take(req: Request, res: Response): Notice | undefined {
    const raw: unknown = req.cookies?.[NOTICE_COOKIE];
    if (typeof raw !== 'string') return undefined;
    res.clearCookie(NOTICE_COOKIE, { path: '/' });
    const [kind, a, b, c] = raw.split('|');
    if (kind === 'bulk-busy') return { kind: 'err', text: 'Another bulk action is running: wait for it to finish.' };
    if (kind === 'bulk-started') return a && BULK_NAMES[a] ? { kind: 'ok', text: `${BULK_NAMES[a]}: the progress is shown below.` } : undefined;
    if (!ALIPAY_AUTH_APP_ID_PATTERN.test(a ?? '')) return undefined;
    const trace = c && CODE.test(c) ? ` Trace id ${c} (for Alipay support).` : '';
    switch (kind) {
      case 'refreshed':
        return { kind: 'ok', text: `Refreshed the token of merchant app ${a}.` };
      case 'revoked':
        return { kind: 'ok', text: `Merchant app ${a} is no longer served; it is kept, marked revoked.` };
      case 'checked':
        return CODE.test(b ?? '') ? { kind: b === 'verified' || b === 'refreshed' ? 'ok' : 'err', text: `Merchant app ${a}: ${explainCheck(b!)}` } : undefined;
      case 'refresh-failed':
      case 'check-failed':
        if (!CODE.test(b ?? '')) return undefined;
        return {
          kind: 'err',
          text: `${kind === 'refresh-failed' ? 'Refresh' : 'Check'} of merchant app ${a} failed: ${explainCode(b)} (code ${b}).${trace}`,
        };
      default:
        return undefined;
    }
  }
}
