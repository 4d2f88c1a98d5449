import { refreshDueAt } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationListItem, AlipayAuthorizationStatus } from 'nestjs-alipay-auth';
import { explainCode, knownCode, STATE_SENTENCES } from './messages';

/** What the operators' page says about one authorization: badge, explanation, next time, attention. */
export interface MerchantState {
  badge: AlipayAuthorizationStatus | 'failing' | 'verifying' | 'unreadable';
  label: string;
  /** One plain sentence (from views/messages.ts, shared with the notices). */
  detail?: string;
  /**
   * Next refresh (healthy), retry (failing) or verification (in doubt): the scheduled run that will do it, or
   * with `unscheduled` the due time (this instance runs no schedule). Null when none is planned.
   */
  next: { label: string; at: Date | null; unscheduled?: true } | null;
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
): MerchantState {
  const run = (label: string, due: Date | null): MerchantState['next'] => {
    const at = due === null ? null : schedule(due.getTime(), now);
    return at || !due ? { label, at } : { label, at: due, unscheduled: true };
  };
  if (m.status !== 'active') {
    // A status reason is a code (said in words) or already words (kept as they are).
    const reason = m.statusReason ? ` ${knownCode(m.statusReason) ?? `Reason: ${m.statusReason}.`}` : '';
    if (m.status === 'reauthorization_required') {
      return { badge: m.status, label: 'authorize again', detail: `${STATE_SENTENCES.reauthorization_required}${reason}`, next: null, attention: true };
    }
    return { badge: m.status, label: m.status, detail: STATE_SENTENCES[m.status], next: null, attention: false };
  }
  if (m.unreadable) return { badge: 'unreadable', label: 'unreadable', detail: `${STATE_SENTENCES.unreadable} (${m.unreadable})`, next: null, attention: true };
  if (m.verifyAt) {
    const why = m.lastErrorCode ? ` ${explainCode(m.lastErrorCode)} (code ${m.lastErrorCode})` : '';
    return { badge: 'verifying', label: 'verifying', detail: `${STATE_SENTENCES.verifying}${why}`, next: run('check', toDate(m.verifyAt)), attention: true };
  }
  if (m.failureCount > 0) {
    return {
      badge: 'failing',
      label: 'refresh failing',
      detail: `${m.failureCount} failed refresh${m.failureCount > 1 ? 'es' : ''}. ${explainCode(m.lastErrorCode)}${m.lastErrorCode ? ` (code ${m.lastErrorCode})` : ''}`,
      next: run('retry', toDate(m.nextAttemptAt)),
      attention: true,
    };
  }
  // When the scheduled run picks the row up: the library's own rule, with the module's refresh windows.
  const due = refreshDueAt({ expiresAt: toDate(m.expiresAt), refreshExpiresAt: toDate(m.refreshExpiresAt), tokenIssuedAt: toDate(m.tokenIssuedAt)! }, refresh);
  return { badge: 'active', label: 'active', next: run('refresh', due === null ? null : new Date(due)), attention: false };
}

function toDate(d: Date | string | null | undefined): Date | null {
  return d ? (d instanceof Date ? d : new Date(d)) : null;
}
