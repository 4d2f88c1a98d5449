import { ALIPAY_ROW_UNREADABLE, AlipayAuthorizationState, AlipayListOrder } from '../storage/alipay-token-store';
import type { AlipayListQuery } from '../storage/list-query';
import type { AlipaySqlDialect } from './sql-dialect';
import type { Params } from './statements';

// An active row's state, from its failure bookkeeping (alipayAuthorizationState in SQL). verify_at and the
// unreadable code are only ever written with a failure, so each branch is a range of (app_id, status, failure_count).
const READABLE = `COALESCE(last_error_code, '') <> :unreadableCode`;
const STATE_SQL: Record<AlipayAuthorizationState, string> = {
  healthy: `(status = 'active' AND failure_count <= 0)`,
  failing: `(status = 'active' AND failure_count > 0 AND ${READABLE} AND verify_at IS NULL)`,
  verifying: `(status = 'active' AND failure_count > 0 AND ${READABLE} AND verify_at IS NOT NULL)`,
  unreadable: `(status = 'active' AND failure_count > 0 AND last_error_code = :unreadableCode)`,
  reauthorization_required: `status = 'reauthorization_required'`,
  revoked: `status = 'revoked'`,
  cancelled: `status = 'cancelled'`,
};

// Nulls last on every engine: `(x IS NULL)` sorts false before true.
const ORDER_SQL: Record<Exclude<AlipayListOrder, 'lastFailure'>, string> = {
  authorized: 'authorized_at DESC, id DESC',
  due: '(due_at IS NULL), due_at ASC, id ASC',
  expires: '(expires_at IS NULL), expires_at ASC, id ASC',
  failures: 'failure_count DESC, (next_attempt_at IS NULL), next_attempt_at ASC, id ASC',
};

// Most recent failure first, never-failed rows last, as a scan of IDX_alipay_auth_last_failure: SQLite and
// MariaDB sort NULL lowest (last when descending) and read the ascending index backwards; PostgreSQL sorts
// NULL highest and has the index built DESC NULLS LAST.
const LAST_FAILURE_SQL: Record<AlipaySqlDialect, string> = {
  sqlite: 'last_failure_at DESC, id DESC',
  mysql: 'last_failure_at DESC, id DESC',
  postgres: 'last_failure_at DESC NULLS LAST, id DESC',
};

/** The WHERE and ORDER BY of one `list` call (bound parameters only). */
export function listStatement(appId: string, q: AlipayListQuery, dialect: AlipaySqlDialect): { where: string; orderBy: string; params: Params } {
  // With an OR (states, search), app_id is in each of its branches instead: a bare `app_id = ?` beside it lures
  // SQLite's planner (without ANALYZE statistics) into scanning the app's rows through any index on app_id.
  const where = q.states || q.search !== null ? [] : ['app_id = :appId'];
  const params: Params = { appId };
  if (q.statuses) {
    where.push('status IN (:...statuses)');
    params.statuses = q.statuses;
  }
  if (q.authAppIds) {
    where.push('auth_app_id IN (:...authAppIds)');
    params.authAppIds = q.authAppIds;
  }
  if (q.userId !== null) {
    where.push('user_id = :userId');
    params.userId = q.userId;
  }
  if (q.search !== null) {
    // Two equalities, each on its own index (the unique key, and app_id + user_id).
    where.push('((app_id = :appId AND auth_app_id = :search) OR (app_id = :appId AND user_id = :search))');
    params.search = q.search;
  }
  if (q.states) {
    // Each branch is then an index range of its own (SQLite's OR optimization, PostgreSQL's bitmap OR,
    // MariaDB's index merge), not a filter over all the app's rows.
    const branches = q.states.map(
      (s) =>
        `(app_id = :appId AND ${s === 'cancelled' && q.cancelledSince !== null ? `status = 'cancelled' AND updated_at >= :cancelledSince` : STATE_SQL[s]})`,
    );
    where.unshift(`(${branches.join(' OR ')})`);
    params.unreadableCode = ALIPAY_ROW_UNREADABLE;
    if (q.cancelledSince !== null) params.cancelledSince = q.cancelledSince;
  }
  return { where: where.join(' AND '), orderBy: q.order === 'lastFailure' ? LAST_FAILURE_SQL[dialect] : ORDER_SQL[q.order], params };
}
