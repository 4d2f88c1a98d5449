/**
 * What merchants read, in their language (Accept-Language: zh-CN or en), in merchant words: no parameter
 * names, no protocol terms. The JSON answers and the logs keep the technical wording for operators.
 */
export type MerchantLocale = 'zh-CN' | 'en';

/** Why a merchant-facing page says "it did not work". */
export type MerchantProblem =
  | 'invalid-link'
  | 'expired-link'
  | 'other-browser'
  | 'code-used'
  | 'alipay-refused'
  | 'alipay-unverified'
  | 'alipay-timeout'
  | 'alipay-unreachable'
  | 'not-saved'
  | 'too-many';

/** The best of zh-CN and en for an Accept-Language header (quality values honoured); English when neither is asked for. */
export function merchantLocale(acceptLanguage: string | undefined): MerchantLocale {
  let best: { locale: MerchantLocale; q: number } | undefined;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    const locale: MerchantLocale | undefined = tag === 'zh' || tag.startsWith('zh-') ? 'zh-CN' : tag === 'en' || tag.startsWith('en-') ? 'en' : undefined;
    if (locale && (!best || q > best.q)) best = { locale, q };
  }
  return best?.locale ?? 'en';
}

interface Words {
  siteTitle: string;
  footer: string;
  modeSimulation: string;
  modeAlipay: string;
  backToOperators: string;
  authorizeAgain: string;
  authorizeAnother: string;
  yourApp: string;
  alipayUser: string;
  alipayCode: string;
  traceId: string;
  completeTitle: string;
  complete: (isvAppId: string, count: number) => string;
  closeHint: string;
  alreadyTitle: string;
  already: (isvAppId: string) => string;
  startAgainHint: string;
  problems: Record<MerchantProblem, { title: string; message: (minutes: number) => string }>;
}

const EN: Words = {
  siteTitle: 'Alipay app authorization',
  footer: 'Authorization through Alipay',
  modeSimulation: 'LOCAL SIMULATION — not Alipay',
  modeAlipay: 'Alipay',
  backToOperators: "Back to the operators' page",
  authorizeAgain: 'Authorize again',
  authorizeAnother: 'Authorize another app',
  yourApp: 'Your app',
  alipayUser: 'Alipay account',
  alipayCode: 'Alipay code',
  traceId: 'Reference for Alipay support',
  completeTitle: 'Authorization complete',
  complete: (id, n) => `You have authorized app ${id} to act for ${n > 1 ? `your ${n} apps` : 'your app'}. You can withdraw this at any time in Alipay.`,
  closeHint: 'Nothing else to do: you can close this page.',
  alreadyTitle: 'This authorization is already complete',
  already: (id) => `This link was already used to authorize app ${id}; nothing else is needed. The details are shown only in the browser that completed it.`,
  startAgainHint: 'If you were authorizing an app, start again from the link the app provider gave you.',
  problems: {
    'invalid-link': {
      title: 'This link does not work',
      message: () => 'The link is incomplete or was changed. Please open the authorization link from the app provider again.',
    },
    'expired-link': { title: 'This link has expired', message: (m) => `Authorization links are valid for ${m} minutes. Please start the authorization again.` },
    'other-browser': {
      title: 'Please finish where you started',
      message: () =>
        'This authorization was started in another browser or app, or this browser blocks cookies. Please start the authorization again here, or finish it where you started it.',
    },
    'code-used': { title: 'This authorization has already been used', message: () => 'It was used or has expired. Please start the authorization again.' },
    'alipay-refused': {
      title: 'Alipay did not complete the authorization',
      message: () => 'Please start the authorization again. If it fails again, contact the app provider.',
    },
    'alipay-unverified': {
      title: 'Alipay’s answer could not be confirmed',
      message: () => 'For your safety it was not used. Please start the authorization again.',
    },
    'alipay-timeout': { title: 'Alipay did not answer in time', message: () => 'Please start the authorization again.' },
    'alipay-unreachable': { title: 'Alipay could not be reached', message: () => 'Please try again in a moment.' },
    'not-saved': {
      title: 'The authorization could not be completed',
      message: () => 'Something failed on our side. Please authorize again; if it keeps failing, contact the app provider.',
    },
    'too-many': { title: 'Too many attempts', message: () => 'Please wait a minute, then open the authorization link again.' },
  },
};

const ZH: Words = {
  siteTitle: '支付宝应用授权',
  footer: '通过支付宝授权',
  modeSimulation: '本地模拟 — 非真实支付宝',
  modeAlipay: '支付宝',
  backToOperators: '返回运营页面',
  authorizeAgain: '重新授权',
  authorizeAnother: '授权其他应用',
  yourApp: '您的应用',
  alipayUser: '支付宝账号',
  alipayCode: '支付宝错误码',
  traceId: '支付宝客服查询编号',
  completeTitle: '授权成功',
  complete: (id, n) => `您已授权应用 ${id} 代${n > 1 ? `您的 ${n} 个应用` : '您的应用'}处理业务。您可以随时在支付宝中取消授权。`,
  closeHint: '无需其他操作，您可以关闭此页面。',
  alreadyTitle: '此授权已完成',
  already: (id) => `此链接已用于授权应用 ${id}，无需其他操作。详细信息仅在完成授权的浏览器中显示。`,
  startAgainHint: '如需授权，请使用服务商提供的链接重新开始。',
  problems: {
    'invalid-link': { title: '此链接无法使用', message: () => '链接不完整或已被修改。请重新打开服务商提供的授权链接。' },
    'expired-link': { title: '此链接已过期', message: (m) => `授权链接的有效期为 ${m} 分钟。请重新开始授权。` },
    'other-browser': {
      title: '请在开始授权的地方完成授权',
      message: () => '此授权是在其他浏览器或应用中开始的，或者此浏览器禁用了 Cookie。请在此重新开始授权，或回到开始授权的地方完成。',
    },
    'code-used': { title: '此授权已被使用', message: () => '授权已使用或已过期。请重新开始授权。' },
    'alipay-refused': { title: '支付宝未能完成授权', message: () => '请重新开始授权。如果仍然失败，请联系服务商。' },
    'alipay-unverified': { title: '无法确认支付宝的答复', message: () => '为了您的安全，该答复未被采用。请重新开始授权。' },
    'alipay-timeout': { title: '支付宝未及时响应', message: () => '请重新开始授权。' },
    'alipay-unreachable': { title: '暂时无法连接支付宝', message: () => '请稍后重试。' },
    'not-saved': { title: '授权未能完成', message: () => '我们这边出现了问题。请重新授权；如果仍然失败，请联系服务商。' },
    'too-many': { title: '尝试次数过多', message: () => '请等待一分钟后，重新打开授权链接。' },
  },
};

export function merchantWords(locale: MerchantLocale): Words {
  return locale === 'zh-CN' ? ZH : EN;
}
