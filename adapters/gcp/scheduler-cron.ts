// Stepgate's 5-field cron (as croner reads it: translator/cron.ts cronProblem) as Cloud Scheduler takes it.
//
// Cloud Scheduler reads unix-cron: five fields, `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` and
// `a-b/n`, month names JAN-DEC and day names SUN-SAT, day-of-week 0-6 with 7 also Sunday, and a cron that
// restricts both day-of-month and day-of-week fires on a day matching either (as croner reads it). So no
// translation is needed: what croner accepts beyond that is refused, naming the field — the Quartz
// extensions croner reads (`L`, `W` in day-of-month; `L`, `#` in day-of-week; `?` in either) and croner's
// `+` (day-of-month AND day-of-week). Six or seven fields (seconds, year) are refused too: Cloud Scheduler
// fires at minute granularity. What passes comes back with single spaces and names in capitals.
import { cronProblem } from '../../translator/cron.js';

/** A cron expression Cloud Scheduler cannot take; `field` is the one at fault. */
export class GcpCronError extends Error {
  override name = 'GcpCronError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

/** What each Quartz or croner extension is, in a refusal, by the character that marks it. */
const EXTENSIONS: Array<[RegExp, string]> = [
  [/\?/, "'?' (any) is Quartz syntax: write '*'"],
  [/#/, "'#' (the n-th weekday of the month) is Quartz syntax"],
  [/W/, "'W' (the nearest weekday) is Quartz syntax"],
  [/L/, "'L' (the last day) is Quartz syntax"],
  [/^\+/, "'+' (day-of-month AND day-of-week) is croner's own syntax"],
];

/** `cron` (five fields) as Cloud Scheduler's `schedule`; throws GcpCronError naming the field. */
export function gcpCron(cron: string): string {
  const fields = cron.trim().toUpperCase().split(/\s+/);
  if (fields.length === 6 || fields.length === 7)
    throw new GcpCronError(
      'second',
      `'${cron}' has ${fields.length} fields: a seconds field (and a year) is not Stepgate's 5-field cron, and Cloud Scheduler fires at minute granularity`,
    );
  const problem = cronProblem(cron);
  if (problem !== undefined) throw new GcpCronError('cron', `invalid cron expression '${cron}': ${problem}`);
  for (const [index, text] of fields.entries()) {
    const name = FIELD_NAMES[index] as string;
    const found = EXTENSIONS.find(([mark]) => mark.test(text.replace(/[A-Z]{3}/g, '')));
    if (found !== undefined)
      throw new GcpCronError(
        name,
        `the ${name} field '${text}' of '${cron}': ${found[1]}, which Cloud Scheduler (unix-cron) does not take`,
      );
  }
  return fields.join(' ');
}
