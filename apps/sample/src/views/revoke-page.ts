import type { AlipayAuthorizationInfo } from 'nestjs-alipay-auth';
import { html, layout } from './html';

export interface RevokeConfirmInput {
  merchant: AlipayAuthorizationInfo;
  csrf: string;
  /** The list the operator came from (query string), carried to the action and back. */
  back: string;
  cancelUrl: string;
}

/** "Stop serving": a page of its own, so that no single click revokes (the pages run no script). */
export function revokeConfirmPage(p: RevokeConfirmInput): string {
  const id = p.merchant.authAppId;
  return layout(
    `Stop serving merchant app ${id}?`,
    html`<div class="card center" id="confirm-revoke">
      <h2 id="title">Stop serving merchant app <span class="mono">${id}</span>?</h2>
      <p>
        Its tokens will no longer be handed out, and no refresh will run. The authorization is kept, marked <b>revoked</b>; to be served again, the
        merchant must authorize again from your link. This does not cancel the authorization in Alipay.
      </p>
      <form method="post" action="/alipay/merchants/${encodeURIComponent(id)}/revoke" class="actions">
        <input type="hidden" name="csrf" value="${p.csrf}" /><input type="hidden" name="back" value="${p.back}" />
        <button class="btn danger-solid" type="submit" id="confirm">Stop serving ${id}</button>
        <a class="btn secondary" id="cancel" href="${p.cancelUrl}">Keep serving</a>
      </form>
    </div>`,
  );
}
