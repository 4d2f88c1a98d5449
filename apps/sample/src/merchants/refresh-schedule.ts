import { CronTime } from 'cron';

/**
 * When the scheduled refresh will actually pick a row up: the first run of the module's cron at or after the
 * row's due time (and not in the past), or null when this instance runs no schedule. The page shows this
 * instead of the due time alone, which is often already past.
 */
export function scheduledRun(cron: string, enabled: boolean): (due: number, now: number) => Date | null {
  if (!enabled) return () => null;
  const time = new CronTime(cron);
  // getNextDateFrom is strictly after its argument; a run exactly at the due time takes the row.
  return (due, now) => time.getNextDateFrom(new Date(Math.max(due, now) - 1)).toJSDate();
}
