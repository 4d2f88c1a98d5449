import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import compression from 'compression';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { SAMPLE_CONFIG, SampleConfig } from './config/sample-config';
import { operatorAuth } from './merchants/admin.guard';
import { SampleAppModule, SampleAppOptions } from './sample-app.module';
import { applyThrottles } from './security/throttle';

export interface CreateSampleAppOptions extends SampleAppOptions {
  logger?: LoggerService | LogLevel[] | false;
}

/**
 * Builds the sample app (not listening yet): the module, cookies, raw bodies for signed notifications,
 * security headers (helmet) on every route including /docs, compression, the client address behind a proxy
 * (TRUST_PROXY) and the OpenAPI docs at /docs. Used by main.ts and by the e2e tests.
 */
export async function createSampleApp(options: CreateSampleAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(SampleAppModule.forRoot(options), {
    rawBody: true,
    abortOnError: false,
    logger: options.logger,
  });
  const config = app.get<SampleConfig>(SAMPLE_CONFIG);
  // Throttling counts per client: behind a load balancer, req.ip must come from X-Forwarded-For.
  app.set('trust proxy', config.trustProxy);
  const https = config.publicBaseUrl.startsWith('https:');
  app.use(
    helmet({
      // Our pages set a stricter policy of their own (sendHtml); this one fits Swagger UI at /docs.
      contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': https ? [] : null, 'img-src': ["'self'", 'data:'] } },
      // The callback URL carries the single-use app_auth_code: never leak it in a Referer.
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: https,
    }),
  );
  // Pages compress 5-10x. BREACH needs a secret repeated across responses an attacker can trigger: a
  // cross-site request carries no SameSite=Strict session cookie, so each gets a fresh CSRF token.
  app.use(compression());
  app.use(cookieParser());
  if (config.nodeEnv === 'production') {
    // The API description lists every operator route: in production it is for operators only.
    app.use(['/docs', '/docs-json', '/docs-yaml'], (req: Request, res: Response, next: NextFunction) => {
      if (operatorAuth(req, config.adminToken)) return next();
      res
        .status(401)
        .set('www-authenticate', 'Basic realm="Alipay sample operators", charset="UTF-8"')
        .json({ statusCode: 401, message: 'ADMIN_TOKEN required' });
    });
  }
  applyThrottles(app);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('nestjs-alipay-auth sample')
      .setDescription(
        "Alipay third-party app authorization: the merchant authorization link and callback, the notification endpoint, the operators' merchant list and health. Operator routes need ADMIN_TOKEN when it is set (Bearer, or Basic with the token as password).",
      )
      .setVersion('1.0')
      .addBearerAuth()
      .addBasicAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { customSiteTitle: 'Alipay sample API' });
  return app;
}
