// What is wrong with a schedule's cron expression or time zone, in words a person can act on, written once
// for every place that checks them: the definition validator (translator/lower.ts, so the CLI too), the
// Scheduler behind POST /api/schedules (functions/core/triggers/schedules.ts), the AWS cron translation
// (adapters/aws/eventbridge-cron.ts) and the dashboard's schedule form (web/src/screens/schedules.tsx),
// which computes the next times in the browser. croner stays the judge of what is valid (Stepgate's cron is
// five fields, as croner reads them); this module only says why, naming the field, the allowed range and an
// example, instead of croner's own text ("CronPattern: Syntax error…", "Original error: toTZ…"), which also
// counts days of the month from zero ("Invalid value for day: 31" for a 32).
import { Cron } from 'croner';
import { closestMatch } from './diagnostics.js';

/** The example every cron message ends with unless its field has a closer one. */
export const CRON_EXAMPLE = "e.g. '0 9 * * 1-5' is 9:00 on weekdays";

const FIELD_ORDER = 'minute hour day-of-month month day-of-week';

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names allowed for the values (index + min is the value), e.g. JAN… for months. */
  names?: readonly string[];
  /** What the names stand for, in a message ("a month name"). */
  nameKind?: string;
  example: string;
}

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59, example: "e.g. '30 * * * *' is half past every hour" },
  { name: 'hour', min: 0, max: 23, example: CRON_EXAMPLE },
  { name: 'day-of-month', min: 1, max: 31, example: "e.g. '0 9 1 * *' is 9:00 on the 1st of every month" },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
    nameKind: 'a month (JAN–DEC)',
    example: "e.g. '0 9 1 1 *' is 9:00 on 1 January",
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    nameKind: 'a day (SUN–SAT)',
    example: `${CRON_EXAMPLE} (0 and 7 are Sunday)`,
  },
];

/**
 * Why a cron expression is unusable, in words with an example, or undefined when croner reads it as five
 * fields (minute hour day-of-month month day-of-week).
 */
export function cronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/);
  if (trimmed === '')
    return `the cron expression is empty: write five fields (${FIELD_ORDER}); ${CRON_EXAMPLE}`;
  if (trimmed.startsWith('@'))
    return `shortcuts such as '${fields[0]}' are not supported: write the five fields (${FIELD_ORDER}) or use a preset; e.g. '0 9 * * *' is 9:00 every day`;
  if (fields.length !== 5) {
    const seconds = fields.length === 6 ? ' (there is no seconds field)' : '';
    return `it needs 5 fields (${FIELD_ORDER}), found ${fields.length}${seconds}; ${CRON_EXAMPLE}`;
  }
  if (cronerAccepts(trimmed)) return undefined;
  for (const [index, text] of fields.entries()) {
    const field = FIELDS[index] as CronField;
    const problem = fieldProblem(field, text);
    if (problem !== undefined)
      return `the ${field.name} field ${text === problem.entry ? `'${text}'` : `'${text}' has '${problem.entry}', which`} ${problem.why}; ${field.example}`;
  }
  return `it is not a cron expression Stepgate can read: five fields (${FIELD_ORDER}), each a number, a range 'a-b', a list 'a,b', '*' or a step '*/n'; ${CRON_EXAMPLE}`;
}

function cronerAccepts(expression: string): boolean {
  try {
    new Cron(expression, { paused: true, mode: '5-part' });
    return true;
  } catch {
    return false;
  }
}

/** The first entry of one field (comma-separated) that is wrong, and why, as "…is out of range 0–23". */
function fieldProblem(field: CronField, text: string): { entry: string; why: string } | undefined {
  const body = field.name === 'day-of-week' && text.startsWith('+') ? text.slice(1) : text;
  for (const entry of body.split(',')) {
    if (entry === '') return { entry: text, why: `has an empty entry: separate values with single commas` };
    const why = entryProblem(field, entry);
    if (why !== undefined) return { entry, why };
  }
  return undefined;
}

function entryProblem(field: CronField, entry: string): string | undefined {
  const parts = entry.split('/');
  if (parts.length > 2) return `has more than one '/'`;
  const [base = '', step] = parts;
  if (step !== undefined) {
    const span = field.max - field.min;
    if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > span)
      return `has the step '${step}': a step is a whole number from 1 to ${span}, as in '*/15'`;
    if (/^\d+$/.test(base))
      return `steps from a single value: write '*/${step}' (every ${step}) or a range such as '${base}-${field.max}/${step}'`;
  }
  if (base === '*' || base === '?') return undefined;
  const range = base.split('-');
  if (range.length > 2) return `is not a range: write a range as 'a-b'`;
  if (range.length === 2) {
    const [from = '', to = ''] = range;
    if (from === '' || to === '') return `is a range without ${from === '' ? 'a start' : 'an end'}`;
    const problem = valueProblem(field, from) ?? valueProblem(field, to);
    if (problem !== undefined) return problem;
    if ((numberOf(field, from) ?? 0) > (numberOf(field, to) ?? 0))
      return `runs backwards: write it as '${to}-${from}', from the smaller to the larger`;
    return undefined;
  }
  return specialProblem(field, base) ?? valueProblem(field, base);
}

/** `L`, `W` (day of month) and `L`, `#` (day of week), as croner reads them; undefined for anything else. */
function specialProblem(field: CronField, value: string): string | undefined {
  const upper = value.toUpperCase();
  if (field.name === 'day-of-month' && /^(L|LW|\d+W)$/.test(upper))
    return upper.endsWith('W') && upper !== 'LW' ? valueProblem(field, upper.slice(0, -1)) : undefined;
  if (field.name === 'day-of-week') {
    const nth = /^(.+)#(.*)$/.exec(upper);
    if (nth) {
      if (!/^[1-5L]$/.test(nth[2] ?? ''))
        return `asks for the '${nth[2]}'th weekday of the month: after '#' comes 1 to 5 (or L for the last)`;
      return valueProblem(field, nth[1] ?? '');
    }
    if (/^.+L$/.test(upper)) return valueProblem(field, upper.slice(0, -1));
  }
  return undefined;
}

function numberOf(field: CronField, value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value);
  const index = field.names?.indexOf(value.toUpperCase()) ?? -1;
  return index < 0 ? undefined : index + field.min;
}

/** Why a single value of the field is wrong ("is out of range 0–23"), or undefined. */
function valueProblem(field: CronField, value: string): string | undefined {
  const number = numberOf(field, value);
  if (number === undefined) {
    if (field.names && /^[a-z]+$/i.test(value))
      return `is not ${field.nameKind} or a number ${field.min}–${field.max}`;
    return `is not a number ${field.min}–${field.max}`;
  }
  if (number < field.min || number > field.max) return `is out of range ${field.min}–${field.max}`;
  return undefined;
}

/** The IANA time zone names the runtime knows, with UTC (which some runtimes list only as an alias). */
function knownZones(): string[] {
  return [...Intl.supportedValuesOf('timeZone'), 'UTC'];
}

/** Whether the runtime knows `name` as a time zone (IANA names, case-insensitively, and their aliases). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `name` is not a time zone, in words with the closest IANA name when there is one ("'Europe/Pariss'
 * is not an IANA time zone — did you mean Europe/Paris?"), or undefined when it is one.
 */
export function timeZoneProblem(name: string): string | undefined {
  if (isTimeZone(name)) return undefined;
  if (name.trim() === '') return 'the time zone is empty: use an IANA name such as Europe/Berlin, or UTC';
  if (/^(utc|gmt)?\s*[+-]\s*\d/i.test(name.trim()))
    return `'${name}' is an offset, not a time zone (an offset ignores daylight saving): use the place, such as Europe/Berlin, or Etc/GMT-1 for a fixed UTC+1`;
  const zones = knownZones();
  const city = name.trim().replaceAll(' ', '_').split('/').pop()?.toLowerCase() ?? '';
  const suggestion =
    closestMatch(name.trim(), zones) ?? zones.find((zone) => zone.split('/').pop()?.toLowerCase() === city);
  return suggestion === undefined
    ? `'${name}' is not an IANA time zone: use a name such as Europe/Berlin or America/New_York, or UTC`
    : `'${name}' is not an IANA time zone — did you mean ${suggestion}?`;
}
