import { refreshDueAt } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationInfo, AlipayAuthorizationStatus } from 'nestjs-alipay-auth';

/** What the operators' page says about one authorization: badge, explanation, next time, attention. */
export interface MerchantState {
  badge: AlipayAuthorizationStatus | 'failing' | 'verifying' | 'unreadable';
  label: string;
  detail?: string;
  /** Next refresh (healthy), retry (failing) or verification (in doubt); null when none is planned. */
  next: { label: string; at: Date | null } | null;
  attention: boolean;
}

export function merchantState(m: AlipayAuthorizationInfo, refresh: Parameters<typeof refreshDueAt>[1]): MerchantState {
  if (m.status !== 'active') {
    const label = m.status === 'reauthorization_required' ? 'authorize again' : m.status;
    return { badge: m.status, label, detail: m.statusReason ?? undefined, next: null, attention: m.status === 'reauthorization_required' };
  }
  if (m.unreadable) return { badge: 'unreadable', label: 'unreadable', detail: `Tokens cannot be decrypted: ${m.unreadable}`, next: null, attention: true };
  if (m.verifyAt) {
    return {
      badge: 'verifying',
      label: 'verifying',
      detail: 'A refresh ended without a clear answer; the stored tokens will be checked and repaired.',
      next: { label: 'check', at: toDate(m.verifyAt) },
      attention: true,
    };
  }
  if (m.failureCount > 0) {
    return {
      badge: 'failing',
      label: 'refresh failing',
      detail: `${m.failureCount} failed refresh${m.failureCount > 1 ? 'es' : ''}${m.lastErrorCode ? `: ${m.lastErrorCode}` : ''}`,
      next: { label: 'retry', at: toDate(m.nextAttemptAt) },
      attention: true,
    };
  }
  // When the scheduled run picks the row up: the library's own rule, with the module's refresh windows.
  const due = refreshDueAt({ expiresAt: toDate(m.expiresAt), refreshExpiresAt: toDate(m.refreshExpiresAt), tokenIssuedAt: toDate(m.tokenIssuedAt)! }, refresh);
  return { badge: 'active', label: 'active', next: { label: 'refresh', at: due === null ? null : new Date(due) }, attention: false };
}

function toDate(d: Date | string | null | undefined): Date | null {
  return d ? (d instanceof Date ? d : new Date(d)) : null;
}
