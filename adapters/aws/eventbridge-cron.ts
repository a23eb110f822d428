// Stepgate's 5-field cron (as croner reads it: translator/cron.ts cronProblem) in the form
// EventBridge Scheduler takes: `cron(minutes hours day-of-month month day-of-week year)`.
//
// What changes on the way:
// - day-of-week numbers: croner counts 0-7 from Sunday (0 and 7 both Sunday), AWS 1-7 from Sunday; names
//   (SUN-SAT, JAN-DEC) become numbers. AWS has no `/` in day-of-week, so steps there become lists.
// - `?`: AWS restricts at most one of day-of-month and day-of-week and wants `?` in the other. A cron with
//   both restricted fires on a day matching EITHER (croner, like Vixie cron); AWS cannot say that, so it
//   is refused, naming both fields — as is croner's `+` (both must match).
// - steps: `*/n` becomes `<first>/n` (AWS's documented form); a stepped range `a-b/n` becomes its list.
// - `L`, `LW`, `nW` in day-of-month and `n#k`, `nL` in day-of-week are kept (AWS allows one such
//   expression alone in its field, not in a list; a list is refused naming the field).
// - the year is `*`. Seconds do not exist in the 5-field form (AWS fires at minute granularity): six or
//   seven fields are refused, naming the seconds (or year) field.
// The equivalence is tested by the fire times croner computes for both forms (test/aws/eventbridge-cron.test.ts).
import { cronProblem } from '../../translator/cron.js';

/** A cron expression EventBridge Scheduler cannot take; `field` is the one at fault. */
export class AwsCronError extends Error {
  override name = 'AwsCronError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  name: string;
  min: number;
  max: number;
}
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12 };
const DAY_OF_WEEK: Field = { name: 'day-of-week', min: 0, max: 7 };

/** `cron` (five fields) as an EventBridge Scheduler expression; throws AwsCronError naming the field. */
export function awsCron(cron: string): string {
  const fields = cron.trim().toUpperCase().split(/\s+/);
  if (fields.length === 6 || fields.length === 7)
    throw new AwsCronError(
      'second',
      `'${cron}' has ${fields.length} fields: a seconds field (and a year) is not Stepgate's 5-field cron, and AWS fires at minute granularity`,
    );
  const problem = cronProblem(cron);
  if (problem !== undefined) throw new AwsCronError('cron', `invalid cron expression '${cron}': ${problem}`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const domFree = dom === '*' || dom === '?';
  const dowFree = dow === '*' || dow === '?';
  if (dow.startsWith('+'))
    throw new AwsCronError(
      'day-of-week',
      `'${cron}': '+' (day-of-month AND day-of-week) cannot be expressed on AWS, which restricts only one of them`,
    );
  if (!domFree && !dowFree)
    throw new AwsCronError(
      'day-of-month',
      `'${cron}' restricts both day-of-month (${dom}) and day-of-week (${dow}), so it fires on days matching either; AWS restricts only one of them (the other must be '?'): make two schedules`,
    );
  const domPart = dowFree ? (domFree ? '*' : dayOfMonth(dom)) : '?';
  const dowPart = dowFree ? '?' : dayOfWeek(dow);
  const monthPart = plain(names(month, MONTHS, 1), MONTH);
  return `cron(${plain(minute, MINUTE)} ${plain(hour, HOUR)} ${domPart} ${monthPart} ${dowPart} *)`;
}

/** Month or day names as numbers (`first` is the number of the first name). */
function names(field: string, list: string[], first: number): string {
  return field.replace(/[A-Z]{3}/g, (name) => {
    const index = list.indexOf(name);
    return index < 0 ? name : String(index + first);
  });
}

/** A field of numbers, ranges, lists and steps in AWS's form: `*` kept, `*` steps from the first value. */
function plain(text: string, field: Field): string {
  return text
    .split(',')
    .map((item) => {
      const [range = '', step] = item.split('/');
      if (step === undefined) return range;
      if (range === '*') return `${field.min}/${step}`;
      return expand(item, field).join(',');
    })
    .join(',');
}

/** The values `item` (`a`, `a-b`, `*`, each with an optional `/n`) stands for, within `field`. */
function expand(item: string, field: Field): number[] {
  const [range = '', stepText] = item.split('/');
  const step = stepText === undefined ? 1 : Number(stepText);
  const [from, to] =
    range === '*'
      ? [field.min, field.max]
      : range.includes('-')
        ? (range.split('-').map(Number) as [number, number])
        : [Number(range), stepText === undefined ? Number(range) : field.max];
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

function dayOfMonth(dom: string): string {
  if (/[LW]/.test(dom)) {
    if (/^(L|LW|\d{1,2}W)$/.test(dom)) return dom;
    throw new AwsCronError(
      'day-of-month',
      `day-of-month '${dom}': AWS takes L, LW or nW only alone in the field, not in a list or with an offset`,
    );
  }
  return plain(dom, DAY_OF_MONTH);
}

/** AWS's number of a croner weekday (0-7, Sunday 0 or 7): 1-7 from Sunday. */
const awsDay = (day: number) => (day % 7) + 1;

function dayOfWeek(text: string): string {
  const dow = names(text, DAYS, 0);
  const special = /^(\d)(#\d|L)$/.exec(dow);
  if (special !== null) return `${awsDay(Number(special[1]))}${special[2]}`;
  if (/[#L]/.test(dow))
    throw new AwsCronError(
      'day-of-week',
      `day-of-week '${text}': AWS takes one n#k or nL alone in the field, not in a list`,
    );
  const days = new Set(dow.split(',').flatMap((item) => expand(item, DAY_OF_WEEK).map(awsDay)));
  return ranges([...days].sort((a, b) => a - b));
}

/** Sorted numbers as a list of ranges: [1,2,3,5] → `1-3,5`. */
function ranges(values: number[]): string {
  const out: string[] = [];
  let start = values[0];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const next = values[i + 1];
    if (next !== v + 1) {
      out.push(start === v ? String(v) : `${start}-${v}`);
      start = next;
    }
  }
  return out.join(',');
}
