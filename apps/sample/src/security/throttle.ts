import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type Redis from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, wantsJson } from '../http/respond';
import { SAMPLE_REDIS } from '../redis/redis.module';
import { CALLBACK_PATH, NOTIFY_PATH } from '../routes';
import { merchantLocale } from '../views/merchant-text';
import { errorPage } from '../views/pages';

const MINUTE = 60_000;

/**
 * Per-client limits (client = req.ip, so set TRUST_PROXY behind a load balancer) on the two routes anyone can
 * call: the callback, checked before it spends a signed call to Alipay, and the notification endpoint. The
 * counters live in Redis when REDIS_URL is set (one budget for all instances), otherwise in each instance.
 */
export function applyThrottles(app: NestExpressApplication): void {
  const config = app.get<SampleConfig>(SAMPLE_CONFIG);
  const redis = app.get<Redis | null>(SAMPLE_REDIS);
  const setup = app.get<AlipaySetup>(ALIPAY_SETUP);
  const limiter = (name: string, limit: number, onLimit: (req: Request, res: Response) => void): RequestHandler =>
    rateLimit({
      windowMs: MINUTE,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: redis
        ? new RedisStore({
            prefix: `${config.redisKeyPrefix}throttle:${name}:`,
            sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
          })
        : undefined,
      handler: (req, res) => onLimit(req, res),
    });
  app.use(
    CALLBACK_PATH,
    limiter('callback', config.throttle.callbackPerMinute, (req, res) => {
      if (wantsJson(req)) {
        res.status(429).json({
          error: { status: 429, title: 'Too many attempts', message: 'Too many callbacks from this client; Alipay was not called. Try again in a minute.' },
        });
        return;
      }
      const page = {
        status: 429,
        problem: 'too-many' as const,
        title: 'Too many attempts',
        message: 'Too many authorization attempts came from your network. Please wait a minute, then open the authorization link again.',
      };
      sendHtml(res, 429, errorPage(page, setup.mode, merchantLocale(req.headers['accept-language'])));
    }),
  );
  // Alipay reads anything but "success" as "send it again later".
  app.use(
    NOTIFY_PATH,
    limiter('notify', config.throttle.notifyPerMinute, (_req, res) => void res.status(429).type('text/plain').send('fail')),
  );
}
