// gcpCron (adapters/gcp/scheduler-cron.ts): Stepgate's 5-field cron as Cloud Scheduler's unix-cron, table
// driven — what Cloud Scheduler takes passes unchanged (single spaces, names in capitals), what it does not
// (Quartz's L, W, #, ?, croner's +, a seconds or year field, anything croner refuses) is refused naming the
// field; and every preset of the dashboard passes.
import { describe, expect, it } from 'vitest';
import { GcpCronError, gcpCron } from '../../adapters/gcp/scheduler-cron.js';
import { SCHEDULE_PRESETS } from '../../functions/core/triggers/schedules.js';

const ACCEPTED: [string, string][] = [
  ['0 * * * *', '0 * * * *'],
  ['0 9 * * 1-5', '0 9 * * 1-5'],
  ['*/15 * * * *', '*/15 * * * *'],
  ['0 0-23/2 * * *', '0 0-23/2 * * *'],
  ['5-30/5 * * * *', '5-30/5 * * * *'],
  ['0,30 8-17 * * *', '0,30 8-17 * * *'],
  ['30 8 * jan-mar sun', '30 8 * JAN-MAR SUN'],
  ['0 9 * JUL sat,sun', '0 9 * JUL SAT,SUN'],
  ['0 9 * * 7', '0 9 * * 7'],
  ['0 9 1 * 1', '0 9 1 * 1'],
  ['  0   9 1,15 *  * ', '0 9 1,15 * *'],
  ['59 23 31 12 *', '59 23 31 12 *'],
];

const REFUSED: [string, string, RegExp][] = [
  ['0 9 L * *', 'day-of-month', /'L' \(the last day\)/],
  ['0 9 LW * *', 'day-of-month', /'W' \(the nearest weekday\)/],
  ['0 9 15W * *', 'day-of-month', /'W'/],
  ['0 9 * * 1#2', 'day-of-week', /'#' \(the n-th weekday/],
  ['0 9 * * FRI#1', 'day-of-week', /'#'/],
  ['0 9 * * 5L', 'day-of-week', /'L'/],
  ['0 9 ? * MON', 'day-of-month', /'\?' \(any\) is Quartz syntax: write '\*'/],
  ['0 9 * * ?', 'day-of-week', /'\?'/],
  ['0 9 1 * +1', 'day-of-week', /'\+' \(day-of-month AND day-of-week\)/],
  ['0 0 9 * * *', 'second', /6 fields: a seconds field/],
  ['0 0 9 * * * 2030', 'second', /7 fields/],
  ['0 9 * *', 'cron', /invalid cron expression '0 9 \* \*': it needs 5 fields/],
  ['61 9 * * *', 'cron', /the minute field '61' is out of range 0–59/],
  ['@daily', 'cron', /shortcuts/],
];

function refusal(cron: string): GcpCronError {
  try {
    gcpCron(cron);
  } catch (error) {
    expect(error).toBeInstanceOf(GcpCronError);
    return error as GcpCronError;
  }
  throw new Error(`gcpCron accepted '${cron}'`);
}

describe('gcpCron', () => {
  it.each(ACCEPTED)('passes %j as %j', (cron, expected) => {
    expect(gcpCron(cron)).toBe(expected);
  });

  it.each(REFUSED)('refuses %j naming the field %s', (cron, field, message) => {
    const error = refusal(cron);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('names the field and the whole expression in a Quartz refusal', () => {
    expect(refusal('0 9 * * 1#2').message).toBe(
      "the day-of-week field '1#2' of '0 9 * * 1#2': '#' (the n-th weekday of the month) is Quartz syntax, which Cloud Scheduler (unix-cron) does not take",
    );
  });

  it('passes every preset unchanged', () => {
    for (const cron of Object.values(SCHEDULE_PRESETS)) expect(gcpCron(cron)).toBe(cron);
  });
});
