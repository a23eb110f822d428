// Durations as the definition format writes them ("500ms", "24h", "1h30m", "PT24H") and their value in ms,
// and the ISO-8601 times (with a zone) that `until` takes.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const SHORT = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const SHORT_PART = /(\d+)(ms|s|m|h|d|w)/g;
// ISO-8601 durations without years and months, whose length depends on the calendar.
const ISO = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

export const DURATION_PATTERN =
  '^(?:(?:\\d+(?:ms|s|m|h|d|w))+|P(?:\\d+W)?(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d{1,3})?S)?)?)$';

/** Milliseconds in `text`, or undefined when it is not a duration (or is zero-length ISO like "P"). */
export function parseDuration(text: string): number | undefined {
  if (SHORT.test(text)) {
    let total = 0;
    for (const [, amount, unit] of text.matchAll(SHORT_PART)) {
      total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    }
    return Number.isSafeInteger(total) ? total : undefined;
  }
  const iso = ISO.exec(text);
  if (!iso || text === 'P' || text.endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = iso;
  const total =
    Number(weeks ?? 0) * UNIT_MS.w +
    Number(days ?? 0) * UNIT_MS.d +
    Number(hours ?? 0) * UNIT_MS.h +
    Number(minutes ?? 0) * UNIT_MS.m +
    Math.round(Number(seconds ?? 0) * 1_000);
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Shortest short-form text for a number of milliseconds, e.g. 90_000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an ISO-8601 time with a zone ("2026-01-31T09:00:00Z"), else undefined. */
export function parseIsoTime(text: string): number | undefined {
  if (!ISO_DATE_TIME.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The ISO-8601 UTC form of a time in milliseconds since the epoch ("2026-01-31T09:00:00.000Z"). A pure
 * function of its argument: the orchestrator formats the times its port gives it with this, since the
 * lint keeps `Date` out of it (biome.json).
 */
export function formatIsoTime(ms: number): string {
  return new Date(ms).toISOString();
}
