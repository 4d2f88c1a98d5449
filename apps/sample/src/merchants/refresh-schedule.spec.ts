import { scheduledRun } from './refresh-schedule';

const at = (hh: number, mm: number, ss = 0) => Date.UTC(2026, 0, 1, hh, mm, ss);

describe('scheduledRun', () => {
  const every10 = scheduledRun('0 */10 * * * *', true);

  it('a row due in the future: the first run at or after its due time', () => {
    expect(every10(at(10, 23, 5), at(10, 0))).toEqual(new Date(at(10, 30)));
    expect(every10(at(10, 30), at(10, 0))).toEqual(new Date(at(10, 30)));
  });

  it('a row already due: the next run from now, never a time in the past', () => {
    expect(every10(at(9, 0), at(10, 3, 7))).toEqual(new Date(at(10, 10)));
  });

  it('no schedule in this instance: no time', () => {
    expect(scheduledRun('0 */10 * * * *', false)(at(9, 0), at(10, 0))).toBeNull();
  });
});
