import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayTokenStore } from './alipay-token-store';

/** A host clock this far from the database's is logged at start-up (the module follows the database's). */
const REPORTED_OFFSET_MS = 5_000;

/**
 * Keeps the module clock on the database's: instants that instances compare with each other (back-off,
 * verification, due and authorization times) are then written on one clock, whatever each host's says.
 * Measured at start-up and again by every scheduled run; a `clock` option is used as given.
 */
@Injectable()
export class AlipayDatabaseClock implements OnModuleInit {
  private readonly logger = new Logger(AlipayDatabaseClock.name);

  constructor(
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const offset = await this.measure().catch((e: unknown) => {
      // No database yet (or a store without one): the host clock stands until the next measurement.
      this.logger.debug(`Database clock not measured: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    if (offset !== undefined && Math.abs(offset) > REPORTED_OFFSET_MS) {
      this.logger.warn(
        `This host's clock is ${offset < 0 ? 'ahead of' : 'behind'} the database's by ${Math.abs(offset)} ms; the library keeps time by the database's`,
      );
    }
  }

  /** Measures the database's clock against this host's and moves the module clock onto it; returns the offset (ms). */
  async measure(): Promise<number | undefined> {
    const holder = this.config.clockOffset;
    if (!holder) return undefined;
    const before = Date.now();
    const db = await this.store.databaseNow();
    const after = Date.now();
    if (!Number.isFinite(db)) return undefined;
    // The database read its clock somewhere within the round trip: the middle is the best estimate.
    holder.ms = Math.round(db - (before + after) / 2);
    return holder.ms;
  }
}
