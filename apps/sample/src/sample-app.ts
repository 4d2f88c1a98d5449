import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import { SampleAppModule, SampleAppOptions } from './sample-app.module';

export interface CreateSampleAppOptions extends SampleAppOptions {
  logger?: LoggerService | LogLevel[] | false;
}

/**
 * Builds the sample app (not listening yet): the module, cookies, raw bodies for signed notifications,
 * a few security headers and the OpenAPI docs at /docs. Used by main.ts and by the e2e tests.
 */
export async function createSampleApp(options: CreateSampleAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(SampleAppModule.forRoot(options), {
    rawBody: true,
    abortOnError: false,
    logger: options.logger,
  });
  app.disable('x-powered-by');
  app.use(cookieParser());
  app.use((_req: Request, res: Response, next: NextFunction) => {
    // The callback URL carries the single-use app_auth_code: never leak it in a Referer.
    res.set({ 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    next();
  });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('nestjs-alipay-auth sample')
      .setDescription(
        'Alipay third-party app authorization: the merchant authorization link and callback, the notification endpoint, the operators\' merchant list and health. Operator routes need ADMIN_TOKEN when it is set (Bearer, or Basic with the token as password).',
      )
      .setVersion('1.0')
      .addBearerAuth()
      .addBasicAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { customSiteTitle: 'Alipay sample API' });
  return app;
}
