// What a person is told about a wrong cron expression or time zone (translator/cron.ts): the field, the
// allowed range or form and an example, the closest IANA name — never croner's own text — and that what
// croner accepts is still accepted (the messages explain croner's verdict, they do not change it).
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { cronProblem, timeZoneProblem } from '../../translator/cron.js';
import { validateWorkflow } from '../../translator/validate.js';

const WEEKDAYS = "e.g. '0 9 * * 1-5' is 9:00 on weekdays";

describe('cronProblem', () => {
  it.each([
    ['0 25 * * *', `the hour field '25' is out of range 0–23; ${WEEKDAYS}`],
    ['61 * * * *', "the minute field '61' is out of range 0–59"],
    ['0 9 32 * *', "the day-of-month field '32' is out of range 1–31"],
    ['0 9 0 * *', "the day-of-month field '0' is out of range 1–31"],
    ['0 9 * 13 *', "the month field '13' is out of range 1–12"],
    ['0 9 * * 8', "the day-of-week field '8' is out of range 0–7"],
    ['0 8,25 * * *', "the hour field '8,25' has '25', which is out of range 0–23"],
    ['0 9 * * MOX', "the day-of-week field 'MOX' is not a day (SUN–SAT) or a number 0–7"],
    ['0 9 * FOO *', "the month field 'FOO' is not a month (JAN–DEC) or a number 1–12"],
    ['x 9 * * *', "the minute field 'x' is not a number 0–59"],
    ['0 9 * * 1-', "the day-of-week field '1-' is a range without an end"],
    ['5-1 * * * *', "the minute field '5-1' runs backwards: write it as '1-5'"],
    ['*/0 * * * *', "the minute field '*/0' has the step '0': a step is a whole number from 1 to 59"],
    ['1/5 * * * *', "the minute field '1/5' steps from a single value: write '*/5'"],
    ['0,,5 * * * *', "the minute field '0,,5' has an empty entry"],
    ['0 9 * * 1#9', "the day-of-week field '1#9' asks for the '9'th weekday"],
    ['0 9 * *', 'it needs 5 fields (minute hour day-of-month month day-of-week), found 4'],
    ['0 0 9 * * 1', 'found 6 (there is no seconds field)'],
    ['@daily', "shortcuts such as '@daily' are not supported"],
    ['  ', 'the cron expression is empty'],
  ])('%j: %s', (cron, message) => {
    const problem = cronProblem(cron);
    expect(problem).toContain(message);
    expect(problem).toMatch(/e\.g\. '[^']+' is /);
    expect(problem).not.toMatch(/CronPattern|Syntax error|Invalid value|illegal|configuration entry/);
  });

  it.each([
    '0 9 * * 1-5',
    '*/15 * * * *',
    '0 9 * * MON-FRI',
    '0 9 1 JAN *',
    '0 9 L * *',
    '0 9 15W * *',
    '0 9 * * 5L',
    '0 9 * * 1#2',
    '0 9 * * 7',
    '0 9 1-7 * +1',
    '0 8-18/2 * * *',
  ])('accepts %j, as croner does', (cron) => {
    expect(() => new Cron(cron, { paused: true, mode: '5-part' })).not.toThrow();
    expect(cronProblem(cron)).toBeUndefined();
  });
});

describe('timeZoneProblem', () => {
  it.each([
    ['Europe/Pariss', "'Europe/Pariss' is not an IANA time zone — did you mean Europe/Paris?"],
    ['America/NewYork', 'did you mean America/New_York?'],
    ['new york', 'did you mean America/New_York?'],
    ['Paris', 'did you mean Europe/Paris?'],
    ['Mars/Olympus_Mons', "'Mars/Olympus_Mons' is not an IANA time zone: use a name such as Europe/Berlin"],
    ['GMT+1', "'GMT+1' is an offset, not a time zone"],
    ['', 'the time zone is empty'],
  ])('%j: %s', (zone, message) => {
    const problem = timeZoneProblem(zone);
    expect(problem).toContain(message);
    expect(problem).not.toMatch(/toTZ|Original error|CronDate/);
  });

  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])('accepts %j', (zone) => {
    expect(timeZoneProblem(zone)).toBeUndefined();
  });
});

describe('the definition validator says the same', () => {
  it('reports a schedule trigger with a bad hour and a misspelt zone in words, both in one pass', () => {
    const result = validateWorkflow(
      [
        'version: 1',
        'id: nightly',
        'triggers:',
        '  - type: schedule',
        '    cron: "0 25 * * *"',
        '    timezone: Europe/Pariss',
        'steps:',
        '  - id: a',
        '    type: tool',
        '    tool: do-thing',
      ].join('\n'),
      'yaml',
    );
    const byCode = Object.fromEntries(result.diagnostics.map((d) => [d.code, d.message]));
    expect(byCode['invalid-cron']).toContain("the hour field '25' is out of range 0–23");
    expect(byCode['invalid-timezone']).toBe(
      "'Europe/Pariss' is not an IANA time zone — did you mean Europe/Paris?",
    );
  });
});
