import { Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { AlipayAuthorizationInfo } from './alipay-token.types';

/** Event names, for `@OnEvent(AlipayAuthEvent.Refreshed)`. Payloads never carry tokens. */
export enum AlipayAuthEvent {
  Authorized = 'alipay.auth.authorized',
  Refreshed = 'alipay.auth.refreshed',
  RefreshFailed = 'alipay.auth.refresh-failed',
  ReauthorizationRequired = 'alipay.auth.reauthorization-required',
  Revoked = 'alipay.auth.revoked',
  Cancelled = 'alipay.auth.cancelled',
  /** The stored pair was refused or in doubt and was repaired with the stored refresh token. */
  Recovered = 'alipay.auth.recovered',
  /** A row's tokens cannot be decrypted; it is skipped until its key is restored. */
  RowUnreadable = 'alipay.auth.row-unreadable',
  /** Alipay answered with a code that means our configuration is wrong; the scheduled refresh stopped. Payload: `AlipayAuthConfigurationErrorPayload`. */
  ConfigurationError = 'alipay.auth.configuration-error',
}

export interface AlipayAuthEventPayload {
  authorization: AlipayAuthorizationInfo;
  /** Alipay's error code, for failures. */
  errorCode?: string;
  traceId?: string;
}

/** Payload of `AlipayAuthEvent.ConfigurationError`. */
export interface AlipayAuthConfigurationErrorPayload {
  errorCode: string;
  traceId?: string;
  /** The merchant app whose call revealed it (the error is not the merchant's). */
  authAppId?: string;
  message: string;
}

/** Emits through `@nestjs/event-emitter` when the app has `EventEmitterModule`; otherwise does nothing. */
@Injectable()
export class AlipayAuthEventPublisher {
  private readonly logger = new Logger(AlipayAuthEventPublisher.name);

  constructor(@Optional() private readonly emitter?: EventEmitter2) {}

  emit(event: AlipayAuthEvent, payload: AlipayAuthEventPayload | AlipayAuthConfigurationErrorPayload): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(event, payload);
    } catch (e) {
      // A listener's bug must not break a token refresh.
      this.logger.error(`Listener for ${event} threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
