import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** How the request proved it is an operator: `bearer` (API client) or `basic` (browser), or `open` without ADMIN_TOKEN. */
export type OperatorAuth = 'open' | 'bearer' | 'basic';

/** The presented secret, if any: `Authorization: Bearer <token>` or Basic with the token as password (any user). */
export function presentedToken(req: Request): { kind: 'bearer' | 'basic'; token: string } | undefined {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return { kind: 'bearer', token: bearer[1].trim() };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return { kind: 'basic', token: colon >= 0 ? decoded.slice(colon + 1) : decoded };
  }
  return undefined;
}

/** Whether the request presents ADMIN_TOKEN (constant-time), or no token is configured; and how. */
export function operatorAuth(req: Request, expected: string | undefined): OperatorAuth | undefined {
  const given = presentedToken(req);
  // A Bearer header still matters when open: browsers never add one on their own, so it rules out a forged post.
  if (!expected) return given?.kind === 'bearer' ? 'bearer' : 'open';
  return given && timingSafeEqual(digest(given.token), digest(expected)) ? given.kind : undefined;
}

/**
 * Operator routes (the operators' page, the merchant list, "Refresh now"). Open when ADMIN_TOKEN is not set;
 * otherwise the token must be presented as a Bearer token or as the Basic password (browsers prompt).
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(SAMPLE_CONFIG) private readonly config: SampleConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request & { operatorAuth?: OperatorAuth }>();
    const auth = operatorAuth(req, this.config.adminToken);
    if (auth) {
      req.operatorAuth = auth;
      return true;
    }
    context.switchToHttp().getResponse<Response>().set('www-authenticate', 'Basic realm="Alipay sample operators", charset="UTF-8"');
    throw new UnauthorizedException('ADMIN_TOKEN required (Authorization: Bearer <token>, or Basic with the token as password)');
  }
}
