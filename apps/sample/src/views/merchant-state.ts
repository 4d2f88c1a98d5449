import { refreshDueAt } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationListItem } from 'nestjs-alipay-auth';
import { explainCode, knownCode, stateSentence } from './messages';
import { operatorWords, OperatorLocale, OperatorWords } from './operator-text';

/** What the operators' page says about one authorization: badge, explanation, next time, attention. */
export interface MerchantState {
  badge: keyof OperatorWords['badges'];
  label: string;
  /** One plain sentence (from views/messages.ts, shared with the notices). */
  detail?: string;
  /**
   * Next refresh (healthy), retry (failing) or verification (in doubt): the scheduled run that will do it, or
   * with `unscheduled` the due time (this instance runs no schedule). Null when none is planned.
   */
  next: { label: keyof OperatorWords['next']; at: Date | null; unscheduled?: true } | null;
  attention: boolean;
}

/** `schedule`: when the scheduled refresh picks up a row due at `due` (see merchants/refresh-schedule.ts); default: the due time itself. */
export type ScheduledRun = (due: number, now: number) => Date | null;
const atDue: ScheduledRun = (due) => new Date(due);

export function merchantState(
  m: AlipayAuthorizationListItem,
  refresh: Parameters<typeof refreshDueAt>[1],
  schedule: ScheduledRun = atDue,
  now = Date.now(),
  locale: OperatorLocale = 'en',
): MerchantState {
  const w = operatorWords(locale);
  const run = (label: keyof OperatorWords['next'], due: Date | null): MerchantState['next'] => {
    const at = due === null ? null : schedule(due.getTime(), now);
    return at || !due ? { label, at } : { label, at: due, unscheduled: true };
  };
  const code = (c: string | null) => (c ? w.codeSuffix(c) : '');
  // Chinese sentences follow each other without a space.
  const sp = locale === 'en' ? ' ' : '';
  if (m.status !== 'active') {
    // A status reason is a code (said in words) or already words (kept as they are: data, not page text).
    if (m.status !== 'reauthorization_required')
      return { badge: m.status, label: w.badges[m.status], detail: stateSentence(m.status, locale), next: null, attention: false };
    const reason = m.statusReason ? `${sp}${knownCode(m.statusReason, locale) ?? w.reason(m.statusReason)}` : '';
    return { badge: m.status, label: w.badges[m.status], detail: `${stateSentence(m.status, locale)}${reason}`, next: null, attention: true };
  }
  if (m.unreadable) {
    // The library's reason starts with a code (`unknown-key: …`); the Chinese page shows only that code.
    const why = locale === 'en' ? m.unreadable : m.unreadable.split(':')[0];
    return {
      badge: 'unreadable',
      label: w.badges.unreadable,
      detail: `${stateSentence('unreadable', locale)}${locale === 'en' ? ` (${why})` : `（${why}）`}`,
      next: null,
      attention: true,
    };
  }
  if (m.verifyAt) {
    const why = m.lastErrorCode ? `${sp}${explainCode(m.lastErrorCode, locale)}${code(m.lastErrorCode)}` : '';
    return {
      badge: 'verifying',
      label: w.badges.verifying,
      detail: `${stateSentence('verifying', locale)}${why}`,
      next: run('check', toDate(m.verifyAt)),
      attention: true,
    };
  }
  if (m.failureCount > 0) {
    return {
      badge: 'failing',
      label: w.badges.failing,
      detail: `${w.failedRefreshes(m.failureCount)}${sp}${explainCode(m.lastErrorCode, locale)}${code(m.lastErrorCode)}`,
      next: run('retry', toDate(m.nextAttemptAt)),
      attention: true,
    };
  }
  // When the scheduled run picks the row up: the library's own rule, with the module's refresh windows.
  const due = refreshDueAt({ expiresAt: toDate(m.expiresAt), refreshExpiresAt: toDate(m.refreshExpiresAt), tokenIssuedAt: toDate(m.tokenIssuedAt)! }, refresh);
  return { badge: 'active', label: w.badges.active, next: run('refresh', due === null ? null : new Date(due)), attention: false };
}

function toDate(d: Date | string | null | undefined): Date | null {
  return d ? (d instanceof Date ? d : new Date(d)) : null;
}
