import { Inject, Injectable, Logger } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import { AlipayApiError } from '../errors/alipay-auth.errors';
import type { AlipayCallGate } from '../client/call-gate';
import { AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayTokenQueryResponse } from './alipay-token.types';
import { AlipayConfigurationCircuit } from './configuration-circuit';
import { backoffDelay, isConfigurationError, isForeignCredentialError } from './refresh-policy';
import { AlipayRefreshOutcome, AlipayTokenRefresher } from './token-refresher';

export { QUERY_PATH as TOKEN_QUERY_PATH } from '../signer/alipay-gateway-paths';
import { QUERY_PATH as TOKEN_QUERY_PATH } from '../signer/alipay-gateway-paths';

/** Alipay's view of a stored token: `missing` when Alipay no longer knows it. */
export type AlipayTokenStatus = 'valid' | 'invalid' | 'missing';

export interface AlipayRecoveryResult {
  alipayStatus: AlipayTokenStatus;
  /** `verified`: Alipay accepts the stored token, nothing to repair. Otherwise what the repair did. */
  outcome: 'verified' | AlipayRefreshOutcome;
  row: AlipayAuthorization | null;
  details?: AlipayTokenQueryResponse;
  /** What Alipay answered when the repair failed. */
  error?: unknown;
}

/**
 * Treats the stored pair as a belief to verify and repair. A sign that Alipay no longer accepts the stored
 * token (the query says `invalid` or does not know it; a merchant call was refused) is never a verdict on
 * its own: the stored refresh token is tried first. The merchant is `cancelled` only when that is refused
 * too, and a row whose refresh outcome was unknown is repaired by refreshing it again.
 * Every method expects the row leased by `owner` and releases or rewrites that lease.
 */
@Injectable()
export class AlipayTokenRecovery {
  private readonly logger = new Logger(AlipayTokenRecovery.name);

  constructor(
    private readonly client: AlipayOpenApiClient,
    private readonly refresher: AlipayTokenRefresher,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly circuit: AlipayConfigurationCircuit,
  ) {}

  /** Asks Alipay (token query API) about the stored token. Configuration codes open the circuit and throw. */
  async query(row: AlipayAuthorization, gate: AlipayCallGate = (call) => call()): Promise<{ status: AlipayTokenStatus; details?: AlipayTokenQueryResponse }> {
    let ticket = 0;
    try {
      const details = await gate(() => {
        ticket = this.circuit.ticket();
        return this.client.request<AlipayTokenQueryResponse>({
          method: 'GET',
          path: TOKEN_QUERY_PATH,
          query: { app_auth_token: row.appAuthToken },
          telemetry: { authAppId: row.authAppId },
        });
      });
      this.circuit.succeeded(ticket);
      return { status: details?.status === 'valid' ? 'valid' : 'invalid', details };
    } catch (e) {
      if (isConfigurationError(e)) this.circuit.open(e, row.authAppId);
      else if (isForeignCredentialError(e) && !this.circuit.foreignCredential(e, row.authAppId)) {
        // This row's credential belongs to another app: recorded on the row, with back-off (its retry is a refresh).
        const nextAttemptAt = new Date(this.config.clock() + backoffDelay(row.failureCount + 1, this.config.refresh));
        await this.store.recordFailure(this.config.appId, row.authAppId, row.version, { errorCode: e.code, nextAttemptAt });
      }
      if (e instanceof AlipayApiError && e.code === 'AUTH_TOKEN_NOT_EXISTED') return { status: 'missing' };
      throw e;
    }
  }

  /** The scheduled (or requested) status check: a refused token is repaired with the refresh token before any verdict. */
  async checkStatus(row: AlipayAuthorization, owner: string, gate?: AlipayCallGate): Promise<AlipayRecoveryResult> {
    const { status, details } = await this.query(row, gate);
    if (status === 'valid') {
      // Decided on this row: a pair stored meanwhile has not been checked.
      await this.store.markChecked(this.config.appId, row.authAppId, row.version, new Date(this.config.clock()));
      await this.store.releaseLease(this.config.appId, row.authAppId, owner);
      return { alipayStatus: status, outcome: 'verified', row, details };
    }
    return this.repairRefused(row, owner, status, details, gate);
  }

  /** A merchant call was refused with the stored token: confirm with the query, then repair. */
  async onTokenRefused(row: AlipayAuthorization, owner: string): Promise<AlipayRecoveryResult> {
    return this.checkStatus(row, owner);
  }

  /** A row whose last refresh had no trustworthy answer: refreshing again with the stored refresh token is the check and the repair. */
  async verifyAmbiguous(row: AlipayAuthorization, owner: string, gate?: AlipayCallGate): Promise<AlipayRecoveryResult> {
    const { outcome, row: after, error } = await this.refresher.refresh(row, owner, { gate });
    return { alipayStatus: outcome === 'refreshed' ? 'valid' : 'invalid', outcome, row: after, error };
  }

  private async repairRefused(
    row: AlipayAuthorization,
    owner: string,
    status: AlipayTokenStatus,
    details?: AlipayTokenQueryResponse,
    gate?: AlipayCallGate,
  ): Promise<AlipayRecoveryResult> {
    this.logger.warn(`Alipay says the stored token of ${row.authAppId} is ${status}; repairing it with the stored refresh token`);
    const { outcome, row: after, error } = await this.refresher.refresh(row, owner, { tokenRefused: true, gate });
    return { alipayStatus: status, outcome, row: after, details, error };
  }
}
