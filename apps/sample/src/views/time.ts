import { Html, html } from './html';

/** `2026-05-01 10:00 UTC`; the full ISO time in a tooltip. */
export function when(d: Date | string | null | undefined): Html | string {
  if (!d) return '—';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '—';
  const iso = date.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;
}
