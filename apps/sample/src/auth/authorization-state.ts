import type { AlipayAuthorizationStateProblem } from 'nestjs-alipay-auth';

/** What the sample's callback page says for each problem of the browser-bound `state` the library names. */
export function stateProblemMessage(problem: AlipayAuthorizationStateProblem, ttlMs: number): string {
  const minutes = Math.round(ttlMs / 60_000);
  switch (problem) {
    case 'malformed':
      return 'The "state" parameter is malformed.';
    case 'bad-signature':
      return 'The "state" parameter was not issued by this application.';
    case 'expired':
      return `This authorization link has expired (links are valid for ${minutes} minutes). Please start the authorization again.`;
    case 'no-cookie':
      return `This browser holds no record of starting this authorization: it was started in another browser or at another address of this site, more than ${minutes} minutes ago, or cookies are blocked. Please start the authorization again.`;
    case 'other-browser':
      return 'This authorization was started in another browser session. Please start the authorization again.';
  }
}
