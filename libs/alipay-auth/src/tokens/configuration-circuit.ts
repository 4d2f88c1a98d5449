import { Inject, Injectable, Logger } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayApiError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';

/** Consecutive unverifiable answers that mean Alipay's public key (or certificate) is misconfigured. */
const SIGNATURE_FAILURES_TO_OPEN = 3;

/** Distinct rows answering "credential of another app", with no success between, that mean our app id is wrong. */
export const FOREIGN_ROWS_TO_OPEN = 3;

/** Rows with another app's credential remembered for the health check (the most recent ones). */
const FOREIGN_ROWS_TRACKED = 20;

export interface AlipayConfigurationCircuitState {
  open: boolean;
  /** The Alipay (or signature) code that opened it. */
  errorCode?: string;
  traceId?: string;
  /** Module-clock instant it opened. */
  since?: Date;
}

/**
 * Opened by answers that blame our configuration (our app id, signature, key or certificate; another app's
 * credential on several distinct rows in a row): the scheduled refresh stops and no row is touched, rather
 * than one wrong setting moving every merchant to a failed state. Closed by the next Alipay call that succeeds.
 */
@Injectable()
export class AlipayConfigurationCircuit {
  private readonly logger = new Logger(AlipayConfigurationCircuit.name);
  private current: AlipayConfigurationCircuitState = { open: false };
  private signatureFailures = 0;
  /** Rows that answered a foreign-credential code since the last success. */
  private readonly foreignStreak = new Set<string>();
  /** Recent rows that answered one, with the code, for the health check (which re-reads them). */
  private readonly foreignRows = new Map<string, string>();
  private opened = 0;
  private calls = 0;

  constructor(
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
  ) {}

  get state(): AlipayConfigurationCircuitState {
    return { ...this.current };
  }

  get isOpen(): boolean {
    return this.current.open;
  }

  /** Take one before an Alipay call and give it to `succeeded`: only a call started after the circuit opened closes it. */
  ticket(): number {
    return ++this.calls;
  }

  open(e: AlipayApiError | AlipaySignatureError, authAppId?: string): void {
    const wasOpen = this.current.open;
    this.current = { open: true, errorCode: e.code, traceId: e.traceId, since: wasOpen ? this.current.since : new Date(this.config.clock()) };
    if (wasOpen) return;
    this.opened = this.calls;
    this.foreignStreak.clear();
    const message = `Alipay answered ${e.code} (traceId ${e.traceId ?? '-'}): the configuration of app ${this.config.appId} is wrong (app id, keys, certificates or clock), not the merchant's authorization. The scheduled refresh stops and no authorization is changed until a call succeeds.`;
    this.logger.error(message);
    this.events.emit(AlipayAuthEvent.ConfigurationError, { errorCode: e.code, traceId: e.traceId, authAppId, message });
  }

  /** An answer that did not verify: one is a lost answer, several in a row a wrong Alipay key. */
  signatureFailed(e: AlipaySignatureError, authAppId?: string): void {
    if (++this.signatureFailures >= SIGNATURE_FAILURES_TO_OPEN) this.open(e, authAppId);
  }

  /**
   * A row answered that its credential belongs to another ISV app (`APP_ID_NOT_CONSISTENT`,
   * `AUTH_TOKEN_NOT_CONSISTENT`). True when the circuit is open now: this was the
   * `FOREIGN_ROWS_TO_OPEN`-th distinct row with no successful call in between (then every row is
   * refused: our app id is wrong), or it was open already; the caller then leaves the row as it is.
   * False: one row's data problem; the caller records the failure on the row, with back-off.
   */
  foreignCredential(e: AlipayApiError, authAppId: string): boolean {
    this.foreignRows.delete(authAppId);
    this.foreignRows.set(authAppId, e.code);
    if (this.foreignRows.size > FOREIGN_ROWS_TRACKED) this.foreignRows.delete(this.foreignRows.keys().next().value!);
    if (this.current.open) return true;
    this.foreignStreak.add(authAppId);
    if (this.foreignStreak.size < FOREIGN_ROWS_TO_OPEN) return false;
    this.open(e, authAppId);
    return true;
  }

  /** Merchant apps (most recent last, at most 20) that answered a foreign-credential code in this process, with the code. */
  get foreignCredentialRows(): ReadonlyMap<string, string> {
    return new Map(this.foreignRows);
  }

  /** Whether the circuit opened after `ticket` was taken (a run stops only for what happened during it). */
  openedSince(ticket: number): boolean {
    return this.current.open && this.opened >= ticket;
  }

  /** A call that succeeded; `ticket` from before the call (omitted: any). */
  succeeded(ticket = Infinity): void {
    this.signatureFailures = 0;
    // Alipay accepts our app id: the foreign-credential answers so far were those rows' own problem.
    this.foreignStreak.clear();
    // A call in flight when the circuit opened proves nothing about the configuration error.
    if (!this.current.open || ticket <= this.opened) return;
    this.logger.log(`Alipay accepted a call again; configuration circuit closed (was ${this.current.errorCode})`);
    this.current = { open: false };
  }
}
