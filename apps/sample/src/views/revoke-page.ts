import type { AlipayAuthorizationListItem } from 'nestjs-alipay-auth';
import { html, layout } from './html';
import { operatorWords, OperatorLocale } from './operator-text';

export interface RevokeConfirmInput {
  merchant: Pick<AlipayAuthorizationListItem, 'authAppId'>;
  csrf: string;
  /** The list the operator came from (query string, with its `lang`), carried to the action and back. */
  back: string;
  cancelUrl: string;
  locale: OperatorLocale;
}

/** "Stop serving": a page of its own, so that no single click revokes (the pages run no script). */
export function revokeConfirmPage(p: RevokeConfirmInput): string {
  const id = p.merchant.authAppId;
  const w = operatorWords(p.locale);
  return layout(
    w.revokeTitle(id),
    html`<div class="card center" id="confirm-revoke">
      <h2 id="title">${w.revokeHeading(html`<span class="mono">${id}</span>`)}</h2>
      <p>${w.revokeExplain}</p>
      <form method="post" action="/alipay/merchants/${encodeURIComponent(id)}/revoke" class="actions">
        <input type="hidden" name="csrf" value="${p.csrf}" /><input type="hidden" name="back" value="${p.back}" />
        <button class="btn danger-solid" type="submit" id="confirm">${w.revokeConfirm(id)}</button>
        <a class="btn secondary" id="cancel" href="${p.cancelUrl}">${w.keepServing}</a>
      </form>
    </div>`,
    { lang: p.locale, siteTitle: w.siteTitle, footer: w.footer },
  );
}
