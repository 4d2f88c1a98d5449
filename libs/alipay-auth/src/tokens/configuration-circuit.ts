import { Inject, Injectable, Logger } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayApiError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';

/** Consecutive unverifiable answers that mean Alipay's public key (or certificate) is misconfigured. */
const SIGNATURE_FAILURES_TO_OPEN = 3;

export interface AlipayConfigurationCircuitState {
  open: boolean;
  /** The Alipay (or signature) code that opened it. */
  errorCode?: string;
  traceId?: string;
  /** Module-clock instant it opened. */
  since?: Date;
}

/**
 * Opened by answers that blame our configuration (another app's credential, our signature, key or
 * certificate): the scheduled refresh stops and no row is touched, rather than one wrong setting moving
 * every merchant to a failed state. Closed by the next Alipay call that succeeds.
 */
@Injectable()
export class AlipayConfigurationCircuit {
  private readonly logger = new Logger(AlipayConfigurationCircuit.name);
  private current: AlipayConfigurationCircuitState = { open: false };
  private signatureFailures = 0;
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
    const message = `Alipay answered ${e.code} (traceId ${e.traceId ?? '-'}): the configuration of app ${this.config.appId} is wrong (app id, keys, certificates or clock), not the merchant's authorization. The scheduled refresh stops and no authorization is changed until a call succeeds.`;
    this.logger.error(message);
    this.events.emit(AlipayAuthEvent.ConfigurationError, { errorCode: e.code, traceId: e.traceId, authAppId, message });
  }

  /** An answer that did not verify: one is a lost answer, several in a row a wrong Alipay key. */
  signatureFailed(e: AlipaySignatureError, authAppId?: string): void {
    if (++this.signatureFailures >= SIGNATURE_FAILURES_TO_OPEN) this.open(e, authAppId);
  }

  /** Whether the circuit opened after `ticket` was taken (a run stops only for what happened during it). */
  openedSince(ticket: number): boolean {
    return this.current.open && this.opened >= ticket;
  }

  /** A call that succeeded; `ticket` from before the call (omitted: any). */
  succeeded(ticket = Infinity): void {
    this.signatureFailures = 0;
    // A call in flight when the circuit opened proves nothing about the configuration error.
    if (!this.current.open || ticket <= this.opened) return;
    this.logger.log(`Alipay accepted a call again; configuration circuit closed (was ${this.current.errorCode})`);
    this.current = { open: false };
  }
}
