import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { EventEmitter2 } from '@nestjs/event-emitter';
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

/**
 * Emits through `@nestjs/event-emitter` when the app has `EventEmitterModule`; otherwise does nothing.
 * The package is an optional peer: it is loaded at init, never at import, so an app without it starts.
 */
@Injectable()
export class AlipayAuthEventPublisher implements OnModuleInit {
  private readonly logger = new Logger(AlipayAuthEventPublisher.name);
  private emitter?: EventEmitter2;

  constructor(private readonly moduleRef: ModuleRef) {}

  async onModuleInit(): Promise<void> {
    const events = await import('@nestjs/event-emitter').catch(() => null);
    if (!events) return;
    try {
      this.emitter = this.moduleRef.get(events.EventEmitter2, { strict: false });
    } catch {
      // Installed, but the app did not import EventEmitterModule.
    }
  }

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
