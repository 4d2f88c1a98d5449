/**
 * The soak's event journal: one JSON object per line (`journal.jsonl`), appended synchronously so a
 * crash of the runner keeps everything up to it. `at` is ms since the soak started (real time).
 * No secrets: tokens appear only as fingerprints (sha256, 10 hex characters).
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class Journal {
  readonly file: string;
  private lines = 0;

  constructor(
    readonly dir: string,
    private readonly t0: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'journal.jsonl');
    writeFileSync(this.file, '');
  }

  write(event: Record<string, unknown>): void {
    const t = typeof event.t === 'number' ? event.t : Date.now();
    appendFileSync(this.file, `${JSON.stringify({ at: t - this.t0, ...event })}\n`);
    this.lines++;
  }

  get size(): number {
    return this.lines;
  }

  /** Every line that names `authAppId` (as a field, in a list, in a log message), in time order. */
  about(authAppId: string): Array<Record<string, unknown>> {
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.includes(authAppId))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .sort((a, b) => Number(a.at) - Number(b.at));
  }

  /** A readable timeline of one merchant, for the failure report. */
  explain(authAppId: string, header: string[]): string {
    const file = join(this.dir, `merchant-${authAppId}.txt`);
    const lines = this.about(authAppId).map((e) => {
      const { at, t: _t, kind, inst, ...rest } = e;
      return `${String(at).padStart(7)} ms  ${String(kind).padEnd(14)} ${String(inst ?? '').padEnd(3)} ${JSON.stringify(rest)}`;
    });
    writeFileSync(file, [...header, '', ...lines, ''].join('\n'));
    return file;
  }
}
