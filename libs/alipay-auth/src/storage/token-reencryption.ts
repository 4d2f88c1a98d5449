import { Inject, Injectable, Logger } from '@nestjs/common';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenStore } from './alipay-token-store';

/** A store that can move rows to the current at-rest key (the TypeORM store can). */
export interface AlipayReencryptingStore {
  reencryptBatch(afterId: number, limit: number): Promise<{ lastId: number | null; scanned: number; rewritten: number; unreadable: number }>;
}

export interface AlipayReencryptionProgress {
  scanned: number;
  rewritten: number;
  /** Rows that still cannot be decrypted (their key is not configured, or the bytes were altered). */
  unreadable: number;
}

/**
 * Moves every stored token to the current (first) key of "tokenEncryptionKeys", in batches by id, so an
 * old key can be removed afterwards. Each row is rewritten with a compare-and-set on its ciphertext: safe
 * to run on several instances at once and beside live refreshes (a concurrent refresh wins, and writes
 * with the current key anyway).
 */
@Injectable()
export class AlipayTokenReencryption {
  private readonly logger = new Logger(AlipayTokenReencryption.name);

  constructor(@Inject(AlipayTokenStore) private readonly store: AlipayTokenStore) {}

  async run(opts: { batchSize?: number; onProgress?: (p: AlipayReencryptionProgress) => void } = {}): Promise<AlipayReencryptionProgress> {
    const store = this.store as AlipayTokenStore & Partial<AlipayReencryptingStore>;
    if (typeof store.reencryptBatch !== 'function')
      throw new AlipayConfigError('The configured token store cannot re-encrypt (it has no reencryptBatch method)');
    const total: AlipayReencryptionProgress = { scanned: 0, rewritten: 0, unreadable: 0 };
    for (let afterId = 0; ;) {
      const r = await store.reencryptBatch(afterId, opts.batchSize ?? 500);
      if (r.lastId === null) break;
      afterId = r.lastId;
      total.scanned += r.scanned;
      total.rewritten += r.rewritten;
      total.unreadable += r.unreadable;
      this.logger.log(`Re-encryption: ${total.scanned} rows scanned, ${total.rewritten} rewritten, ${total.unreadable} unreadable`);
      opts.onProgress?.({ ...total });
    }
    if (total.unreadable > 0) this.logger.warn(`${total.unreadable} row(s) could not be decrypted and were left as they are`);
    return total;
  }
}
