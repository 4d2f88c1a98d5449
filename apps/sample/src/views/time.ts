import { Html, html } from './html';

const formats = new Map<string, Intl.DateTimeFormat>();

/** `2026-05-01 18:00` in `timeZone`; in its tooltip and `datetime`, the instant in UTC. */
export function when(d: Date | string | null | undefined, timeZone = 'UTC'): Html | string {
  if (!d) return '—';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '—';
  const iso = date.toISOString();
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return html`<time datetime="${iso}" title="${iso.slice(0, 16).replace('T', ' ')} UTC">${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}</time>`;
}
