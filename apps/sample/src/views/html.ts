/** Server-rendered HTML: plain template strings, every dynamic value escaped with {@link esc}. */

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Marks a string as already-safe HTML. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Tagged template: interpolations are escaped unless they are {@link Html} (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

const STYLE = `
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1f2329;background:#f5f6f8}
header{background:#0958d9;color:#fff;padding:.9rem 1.5rem;display:flex;align-items:center;gap:1rem}
header h1{font-size:1.15rem;margin:0;font-weight:600}
header .mode{margin-left:auto;font-size:.8rem;padding:.15rem .6rem;border-radius:1rem;background:rgba(0,0,0,.3)}
header .mode.sim{background:#faad14;color:#1f2329;font-weight:600}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1.25rem 1.5rem;margin-bottom:1.25rem}
.card h2{font-size:1.05rem;margin:0 0 .8rem}
.center{max-width:40rem;margin:3rem auto;text-align:center}
.ok{color:#237804}.err{color:#cf1322}
.big{font-size:3rem;line-height:1}
.link-row{display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
.qr svg{width:168px;height:168px;display:block}
.btn{display:inline-block;background:#0958d9;color:#fff;border:1px solid #0958d9;border-radius:6px;padding:.5rem 1rem;font-size:.95rem;text-decoration:none;cursor:pointer}
.btn.small{padding:.25rem .7rem;font-size:.82rem}
.btn.secondary{background:#fff;color:#0958d9;border:1px solid #0958d9}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.url{word-break:break-all;background:#f0f5ff;padding:.35rem .5rem;border-radius:4px;display:block;margin:.4rem 0 .8rem}
table{width:100%;border-collapse:collapse;font-size:.88rem}
th,td{text-align:left;padding:.5rem .45rem;border-bottom:1px solid #eef0f3;vertical-align:top}
th{color:#646a73;font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.02em}
.status{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.78rem;font-weight:600}
.status.active{background:#f6ffed;color:#237804}
.status.failing,.status.unreadable{background:#fff1f0;color:#cf1322}
.status.verifying,.status.reauthorization_required{background:#fff7e6;color:#ad4e00}
.status.revoked,.status.cancelled{background:#f0f0f0;color:#545454}
.flag{display:inline-block;font-size:.72rem;font-weight:600;color:#cf1322;border:1px solid #ffa39e;border-radius:1rem;padding:0 .45rem}
tr.attention td:first-child{box-shadow:inset 3px 0 #cf1322}
time{white-space:nowrap}
.actions{display:flex;gap:.6rem;flex-wrap:wrap;justify-content:inherit}
.center .actions{justify-content:center}
.link-text{flex:1;min-width:16rem}
.muted{color:#5c626b;font-size:.82rem}
.notice{padding:.6rem 1rem;border-radius:6px;margin-bottom:1rem}
.notice.ok{background:#f6ffed;border:1px solid #b7eb8f;color:#1f2329}
.notice.err{background:#fff1f0;border:1px solid #ffa39e;color:#1f2329}
.notice.info{background:#e6f4ff;border:1px solid #91caff;color:#1f2329}
.counts{display:flex;gap:.4rem;flex-wrap:wrap;margin-bottom:.8rem}
.counts a{font-size:.82rem;color:#4e5561;text-decoration:none;border:1px solid #dee0e3;border-radius:6px;padding:.25rem .6rem;min-width:5.5rem}
.counts a b{font-size:1.1rem;color:#1f2329;display:block}
.counts a.current{border-color:#0958d9;box-shadow:inset 0 -3px #0958d9;color:#1f2329}
.counts a.hot b{color:#b3261e}
.counts a:hover,.counts a:focus-visible{border-color:#0958d9}
.filters{display:flex;gap:.6rem 1rem;flex-wrap:wrap;align-items:flex-end;margin:.2rem 0 .8rem}
.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#4e5561;gap:.15rem}
.filters input,.filters select{font:inherit;font-size:.9rem;padding:.3rem .45rem;border:1px solid #767c85;border-radius:4px;min-width:10rem}
.filters input[type=search]{min-width:16rem}
.field-error{color:#b3261e;font-size:.85rem;margin:-.4rem 0 .6rem}
.pager{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap;margin:.6rem 0}
.pager #page-of{padding:0 .4rem;font-size:.88rem}
.btn.disabled{opacity:.55;cursor:default}
tr.highlight td,tr.highlight th,tr:target td,tr:target th{background:#fffbe6}
#merchants tbody th{font-weight:400;text-transform:none;letter-spacing:0;font-size:.88rem;color:inherit}
details.card>summary{cursor:pointer;list-style-position:inside}
details.card>summary h2{display:inline;margin:0}
details.card[open]>summary{margin-bottom:.8rem}
.row-actions{display:flex;gap:.35rem;flex-wrap:wrap}.row-actions form{margin:0}
.btn.danger{background:#fff;color:#b3261e;border-color:#b3261e}.btn.danger-solid{background:#b3261e;border-color:#b3261e;color:#fff}
.copy-link{display:flex;flex-direction:column;font-size:.78rem;color:#4e5561;gap:.15rem}.copy-link input{font:inherit;font-size:.78rem;padding:.2rem .35rem;border:1px solid #767c85;border-radius:4px;width:100%;min-width:12rem}
.bulk{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:0 0 .6rem}.bulk form{margin:0}
.bulk-progress{font-size:.88rem}.bulk-progress progress{vertical-align:middle;width:10rem}
.lang-switch{text-align:right;font-size:.85rem;margin:-.75rem 0 .25rem}.lang-switch a{display:inline-block;padding:.2rem .35rem;color:#0958d9}.lang-switch a[aria-current]{color:#1f2329;font-weight:600;text-decoration:none}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.skip{position:absolute;left:-999px;top:.5rem;background:#fff;color:#0958d9;padding:.4rem .8rem;border-radius:4px;z-index:9}
.skip:focus{left:.5rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;text-align:left;margin:1rem auto;max-width:30rem}
dl.kv dt{color:#646a73}dl.kv dd{margin:0}
footer{color:#5c626b;font-size:.8rem;text-align:center;margin:2rem 0}
@media (max-width:760px){
main{padding:0 .5rem;margin:.5rem auto}.card{padding:.75rem;margin-bottom:.75rem}header{padding:.5rem .75rem;flex-wrap:wrap}header h1{font-size:1rem}
.notice{font-size:.8rem;padding:.4rem .6rem;margin-bottom:.5rem}.card h2{margin-bottom:.5rem}
.link-row{flex-direction:column;align-items:flex-start;gap:.75rem}.link-text{min-width:0;width:100%}.qr svg{width:140px;height:140px}
table#merchants,#merchants tbody,#merchants tr,#merchants td,#merchants tbody th{display:block;width:100%}
#merchants thead{display:none}
#merchants tr{border:1px solid #eef0f3;border-radius:6px;margin-bottom:.75rem;padding:.4rem .6rem}
#merchants td,#merchants tbody th{border:0;padding:.2rem 0 .2rem 7.5rem;position:relative;min-height:1.6rem}
#merchants td::before,#merchants tbody th::before{content:attr(data-label);position:absolute;left:0;top:.3rem;width:7rem;color:#646a73;font-size:.72rem;font-weight:600;text-transform:uppercase}
#merchants td:last-child{padding-left:0}#merchants td:last-child::before{content:none}
.filters{gap:.4rem .6rem;margin-bottom:.5rem}.filters input,.filters select{min-width:0;width:100%}.filters label{flex:1 1 30%}.filters label:first-of-type{flex-basis:100%}
.counts a{min-width:0;padding:.15rem .45rem;font-size:.75rem}.counts a b{font-size:.95rem;display:inline;margin-right:.25rem}
}
`;

export interface LayoutOptions {
  mode?: 'alipay' | 'simulation';
  /** The page's language (merchant pages follow Accept-Language). Default en. */
  lang?: string;
  siteTitle?: string;
  footer?: string;
  /** The mode badge's words (the operators' page in Chinese). */
  modeLabel?: string;
}

export function layout(title: string, body: Html, opts: LayoutOptions = {}): string {
  const badge =
    opts.mode === 'simulation'
      ? html`<span class="mode sim" id="mode">${opts.modeLabel ?? 'LOCAL SIMULATION — not Alipay'}</span>`
      : opts.mode === 'alipay'
        ? html`<span class="mode" id="mode">${opts.modeLabel ?? 'Alipay'}</span>`
        : html``;
  return `<!DOCTYPE html>
<html lang="${esc(opts.lang ?? 'en')}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><a class="skip" href="#main">${opts.lang === 'zh-CN' ? '跳到主要内容' : 'Skip to content'}</a><header><h1>${esc(opts.siteTitle ?? 'Alipay app authorization — sample')}</h1>${badge}</header>
<main id="main" tabindex="-1">${body.value}</main>
<footer>${esc(opts.footer ?? 'nestjs-alipay-auth sample app')}</footer></body></html>`;
}
