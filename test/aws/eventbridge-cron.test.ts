// awsCron (adapters/aws/eventbridge-cron.ts): Stepgate's 5-field cron in EventBridge Scheduler's form. The
// exact expressions, table-driven; what AWS cannot express refused naming the field; and the conversions
// equivalent — for each sample, the next fire times croner computes for the 5-field form equal the ones it
// computes for the AWS form read back the way AWS reads it (Quartz: day-of-week 1-7 from Sunday, `?` any,
// `a/n` from a), a reading that shares no code with the conversion.
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { AwsCronError, awsCron } from '../../adapters/aws/eventbridge-cron.js';
import { SCHEDULE_PRESETS } from '../../functions/core/triggers/schedules.js';

const CONVERSIONS: [string, string][] = [
  ['0 * * * *', 'cron(0 * * * ? *)'],
  ['0 9 * * *', 'cron(0 9 * * ? *)'],
  ['0 9 * * 1', 'cron(0 9 ? * 2 *)'],
  ['0 9 * * 1-5', 'cron(0 9 ? * 2-6 *)'],
  ['0 9 1 * *', 'cron(0 9 1 * ? *)'],
  ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
  ['0 */2 * * *', 'cron(0 0/2 * * ? *)'],
  ['0 0 1 */3 *', 'cron(0 0 1 1/3 ? *)'],
  ['5-30/5 * * * *', 'cron(5,10,15,20,25,30 * * * ? *)'],
  ['0,30 8-17 * * *', 'cron(0,30 8-17 * * ? *)'],
  ['30 8 * JAN-MAR SUN', 'cron(30 8 ? 1-3 1 *)'],
  ['0 9 * * sat,sun', 'cron(0 9 ? * 1,7 *)'],
  ['0 9 * * 0', 'cron(0 9 ? * 1 *)'],
  ['0 9 * * 7', 'cron(0 9 ? * 1 *)'],
  ['0 9 * * 5-7', 'cron(0 9 ? * 1,6-7 *)'],
  ['0 9 * * */2', 'cron(0 9 ? * 1,3,5,7 *)'],
  ['0 9 * * 1#2', 'cron(0 9 ? * 2#2 *)'],
  ['0 9 * * 5L', 'cron(0 9 ? * 6L *)'],
  ['0 9 L * *', 'cron(0 9 L * ? *)'],
  ['0 9 LW * *', 'cron(0 9 LW * ? *)'],
  ['0 9 15W * *', 'cron(0 9 15W * ? *)'],
  ['0 9 1,15 * *', 'cron(0 9 1,15 * ? *)'],
  ['0 9 ? * ?', 'cron(0 9 * * ? *)'],
  ['0 9 * * ?', 'cron(0 9 * * ? *)'],
  ['0 9 ? * MON-FRI', 'cron(0 9 ? * 2-6 *)'],
  ['59 23 31 12 *', 'cron(59 23 31 12 ? *)'],
];

const REFUSALS: [string, string, RegExp][] = [
  ['0 9 1 * 1', 'day-of-month', /both day-of-month \(1\) and day-of-week \(1\)/],
  ['0 9 1-7 * MON', 'day-of-month', /fires on days matching either/],
  ['0 9 1 * +1', 'day-of-week', /'\+'/],
  ['0 9 * * 1#1,5#3', 'day-of-week', /one n#k or nL alone/],
  ['0 9 1,L * *', 'day-of-month', /L, LW or nW only alone/],
  ['0 0 9 * * *', 'second', /6 fields: a seconds field/],
  ['0 0 9 * * * 2030', 'second', /7 fields/],
  ['0 9 * *', 'cron', /5 fields/],
  ['61 9 * * *', 'cron', /invalid cron expression/],
];

/** The next `n` fire times (ISO) of a 5-field cron, as Stepgate computes them. */
function stepgateTimes(cron: string, timezone: string, from: Date, n: number): string[] {
  const job = new Cron(cron, { paused: true, mode: '5-part', timezone });
  return job.nextRuns(n, from).map((d) => d.toISOString());
}

/** The next `n` fire times (ISO) of an AWS `cron(...)` read as AWS reads it (Quartz rules). */
function awsTimes(expression: string, timezone: string, from: Date, n: number): string[] {
  const inner = /^cron\((.*)\)$/.exec(expression)?.[1];
  if (inner === undefined) throw new Error(`not a cron(...) expression: ${expression}`);
  expect(inner.split(' ')).toHaveLength(6);
  const job = new Cron(`0 ${inner}`, {
    paused: true,
    mode: '7-part',
    alternativeWeekdays: true,
    sloppyRanges: true,
    timezone,
  });
  return job.nextRuns(n, from).map((d) => d.toISOString());
}

describe('awsCron', () => {
  it.each(CONVERSIONS)('%s → %s', (cron, expected) => {
    expect(awsCron(cron)).toBe(expected);
  });

  it.each(REFUSALS)('refuses %s, naming the field %s', (cron, field, message) => {
    let error: unknown;
    try {
      awsCron(cron);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AwsCronError);
    expect(error).toMatchObject({ field });
    expect((error as Error).message).toMatch(message);
  });

  it('converts every preset', () => {
    for (const cron of Object.values(SCHEDULE_PRESETS)) expect(awsCron(cron)).toMatch(/^cron\(/);
  });

  const samples = [...CONVERSIONS.map(([cron]) => cron), ...Object.values(SCHEDULE_PRESETS)];
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'])(
    'fires at the same times as the 5-field form (next 60 fires, %s, across DST changes and leap years)',
    (timezone) => {
      for (const from of [new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2027, 9, 20, 12, 34))])
        for (const cron of samples) {
          const expected = stepgateTimes(cron, timezone, from, 60);
          expect(expected.length, cron).toBe(60);
          expect(awsTimes(awsCron(cron), timezone, from, 60), `${cron} → ${awsCron(cron)}`).toEqual(expected);
        }
    },
  );

  it('tells a wrong conversion apart: the check is not blind to the day-of-week shift', () => {
    const from = new Date(Date.UTC(2026, 0, 1));
    // The 5-field form passed through unshifted would fire a day late.
    expect(awsTimes('cron(0 9 ? * 1-5 *)', 'UTC', from, 5)).not.toEqual(
      stepgateTimes('0 9 * * 1-5', 'UTC', from, 5),
    );
  });
});
