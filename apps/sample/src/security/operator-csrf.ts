import { Inject, Injectable } from '@nestjs/common';
import { doubleCsrf, DoubleCsrfUtilities } from 'csrf-csrf';
import type { Request, Response } from 'express';
import { createHmac, randomBytes } from 'node:crypto';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { SAMPLE_CLOCK } from '../config/sample-config.module';

/** How long an operator session (and so a "Refresh now" form) stays valid. */
export const OPERATOR_SESSION_MS = 2 * 3600_000;

/**
 * CSRF protection of the operators' forms (browsers send Basic credentials and cookies along on cross-site
 * posts): csrf-csrf's signed double-submit token, bound to an operator-session cookie whose value carries
 * its own expiry. The token is therefore worthless in another browser or after the session's window.
 */
@Injectable()
export class OperatorCsrf {
  private readonly csrf: DoubleCsrfUtilities;
  private readonly secure: boolean;
  readonly sessionCookie: string;

  constructor(
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
    @Inject(ALIPAY_SETUP) setup: AlipaySetup,
    @Inject(SAMPLE_CLOCK) private readonly clock: () => number,
  ) {
    this.secure = config.publicBaseUrl.startsWith('https:');
    // __Host- cookies need Secure: only over https.
    const prefix = this.secure ? '__Host-' : '';
    this.sessionCookie = `${prefix}alipay_ops_session`;
    // A key of its own, derived from the state secret (shared by every instance, so any one validates).
    const secret = createHmac('sha256', setup.stateSecret).update('operator-csrf').digest('base64url');
    this.csrf = doubleCsrf({
      getSecret: () => secret,
      getSessionIdentifier: (req) => this.liveSession(req) ?? '',
      cookieName: `${prefix}alipay_ops_csrf`,
      cookieOptions: { sameSite: 'strict', secure: this.secure, httpOnly: true, path: '/', maxAge: OPERATOR_SESSION_MS },
      getCsrfTokenFromRequest: (req) => (typeof req.body?.csrf === 'string' ? req.body.csrf : undefined),
    });
  }

  /** The session cookie's value while it is inside its window: `<expiry ms base36>.<random>`. */
  private liveSession(req: Request): string | undefined {
    const value: unknown = req.cookies?.[this.sessionCookie];
    if (typeof value !== 'string') return undefined;
    const m = /^([0-9a-z]{1,12})\.[A-Za-z0-9_-]{22}$/.exec(value);
    return m && parseInt(m[1], 36) > this.clock() ? value : undefined;
  }

  /** The token for the page's forms; starts or renews the operator session when needed. */
  issue(req: Request, res: Response): string {
    const live = this.liveSession(req);
    // Renewed at half-time, so a page just loaded always has a comfortable window.
    const fresh = !live || parseInt(live.split('.')[0], 36) - this.clock() < OPERATOR_SESSION_MS / 2;
    if (fresh) {
      const session = `${(this.clock() + OPERATOR_SESSION_MS).toString(36)}.${randomBytes(16).toString('base64url')}`;
      res.cookie(this.sessionCookie, session, { httpOnly: true, sameSite: 'strict', secure: this.secure, path: '/', maxAge: OPERATOR_SESSION_MS });
      req.cookies = { ...req.cookies, [this.sessionCookie]: session };
    }
    return this.csrf.generateCsrfToken(req, res, { overwrite: fresh });
  }

  valid(req: Request): boolean {
    return this.liveSession(req) !== undefined && this.csrf.validateRequest(req);
  }

  /**
   * A state-changing operator request is allowed with a Bearer header (browsers never add one on their own) or
   * a valid csrf field; otherwise this answers 403 and returns false.
   */
  allowPost(req: Request & { operatorAuth?: string }, res: Response): boolean {
    if (req.operatorAuth === 'bearer' || this.valid(req)) return true;
    res.status(403).json({
      statusCode: 403,
      message: "Missing, expired or wrong csrf field: reload the operators' page and use its button (API clients: send Authorization: Bearer)",
    });
    return false;
  }
}
