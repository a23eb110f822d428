import { describe, expect, it } from 'vitest';
import { formatDuration, formatIsoTime, parseDuration, parseIsoTime } from '../../translator/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['PT24H', 86_400_000],
    ['P1DT12H', 129_600_000],
    ['PT0.5S', 500],
    ['P1W', 604_800_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '2 hours', '10', 'h', '1.5h', 'P', 'PT', 'P1Y', 'P1M', '-5s', '5S', '99999999999999999999d'])(
    'rejects %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('formatDuration', () => {
  it('writes the shortest short form', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_000, 86_400_001, 1_209_600_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('formatIsoTime', () => {
  it('writes a time in UTC with milliseconds, and parseIsoTime reads it back', () => {
    expect(formatIsoTime(1_769_850_000_123)).toBe('2026-01-31T09:00:00.123Z');
    expect(parseIsoTime(formatIsoTime(1_769_850_000_123))).toBe(1_769_850_000_123);
  });
});
