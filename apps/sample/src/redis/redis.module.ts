import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';

/** The shared Redis client, or null when REDIS_URL is not set (then each feature uses its fallback). */
export const SAMPLE_REDIS = Symbol('SAMPLE_REDIS');

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SAMPLE_REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: SAMPLE_REDIS,
      inject: [SAMPLE_CONFIG],
      // A request fails fast while Redis is down instead of queueing forever.
      useFactory: (config: SampleConfig) => (config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true }) : null),
    },
    RedisLifecycle,
  ],
  exports: [SAMPLE_REDIS],
})
export class SampleRedisModule {}
