// Redaction by value (functions/core/redaction.ts): every form of a credential the vault handed out is masked
// as `[redacted: NAME]` wherever it shows in text or JSON, too-short values are left alone, and overlapping
// secrets never leave a piece of either behind. The run view shows the pipeline's masking and identity.
import { describe, expect, it } from 'vitest';
import type { AuditType } from '../../functions/core/audit.js';
import type { AuditRecord, RunRecord } from '../../functions/core/ports.js';
import { MIN_SECRET_LENGTH, markedNames, secretScrubber } from '../../functions/core/redaction.js';
import { runView } from '../../functions/core/run-view.js';

const TOKEN = 'tok-7f3a9c';

describe('secretScrubber', () => {
  it('masks a secret as it is, naming the credential', () => {
    const scrub = secretScrubber([['API_TOKEN', TOKEN]]);

    expect(scrub.text(`Bearer ${TOKEN} accepted`)).toBe('Bearer [redacted: API_TOKEN] accepted');
    expect(scrub.redacted()).toEqual(['API_TOKEN']);
  });

  it('masks a secret JSON-escaped inside JSON text, and URL-encoded', () => {
    const secret = 'p"a\\ss/wo rd';
    const scrub = secretScrubber([['DB_PASSWORD', secret]]);
    const json = JSON.stringify({ echo: secret });

    expect(scrub.text(json)).toBe('{"echo":"[redacted: DB_PASSWORD]"}');
    expect(scrub.text(`?pw=${encodeURIComponent(secret)}`)).toBe('?pw=[redacted: DB_PASSWORD]');
    expect(scrub.text(json.replaceAll('/', '\\/'))).toBe('{"echo":"[redacted: DB_PASSWORD]"}');
  });

  it('masks secrets in nested objects, arrays, keys and numbers, leaving other values untouched', () => {
    const scrub = secretScrubber([
      ['API_TOKEN', TOKEN],
      ['PIN', '98765'],
    ]);

    const masked = scrub.value({
      ok: true,
      count: 3,
      items: [{ header: `Bearer ${TOKEN}` }, null],
      [TOKEN]: 'as a key',
      pin: 98765,
    });

    expect(masked).toEqual({
      ok: true,
      count: 3,
      items: [{ header: 'Bearer [redacted: API_TOKEN]' }, null],
      '[redacted: API_TOKEN]': 'as a key',
      pin: '[redacted: PIN]',
    });
    expect(scrub.redacted()).toEqual(['API_TOKEN', 'PIN']);
  });

  it('masks a secret inside an error message', () => {
    const scrub = secretScrubber([['API_TOKEN', TOKEN]]);

    expect(scrub.text(`401 from api.example.com: invalid key ${TOKEN}, try again`)).toBe(
      '401 from api.example.com: invalid key [redacted: API_TOKEN], try again',
    );
  });

  it('masks a webhook URL, its secret path alone, and a URL password decoded', () => {
    const scrub = secretScrubber([
      ['SLACK_WEBHOOK_URL', 'https://hooks.example.com/services/T0/B0/XyZ'],
      ['SMTP_URL', 'smtp://mailer:p%40ss%21word@smtp.example.com:587'],
    ]);

    expect(scrub.text('POST https://hooks.example.com/services/T0/B0/XyZ failed')).toBe(
      'POST [redacted: SLACK_WEBHOOK_URL] failed',
    );
    expect(scrub.text('no route for /services/T0/B0/XyZ')).toBe('no route for [redacted: SLACK_WEBHOOK_URL]');
    expect(scrub.text('535 auth failed for p@ss!word')).toBe('535 auth failed for [redacted: SMTP_URL]');
  });

  it(`does not mask values shorter than ${MIN_SECRET_LENGTH} characters`, () => {
    const scrub = secretScrubber([['REGION', 'eu1']]);

    expect(scrub.value({ region: 'eu1', text: 'eu1 is up' })).toEqual({ region: 'eu1', text: 'eu1 is up' });
    expect(scrub.redacted()).toEqual([]);
  });

  it('merges overlapping secrets into one marker, leaving no piece of either', () => {
    const scrub = secretScrubber([
      ['FIRST', 'abcdef12'],
      ['SECOND', 'ef123456'],
      ['INNER', 'cdef'],
    ]);

    expect(scrub.text('x abcdef123456 y abcdef12 z')).toBe(
      'x [redacted: FIRST, INNER, SECOND] y [redacted: FIRST, INNER] z',
    );
  });

  it('names every credential that holds the same value', () => {
    const scrub = secretScrubber([
      ['ORG_KEY', TOKEN],
      ['LEGACY_KEY', TOKEN],
    ]);

    expect(scrub.text(TOKEN)).toBe('[redacted: ORG_KEY, LEGACY_KEY]');
  });
});

describe('markedNames', () => {
  it('reads the credential names back from the markers of masked text', () => {
    const masked = secretScrubber([
      ['A_KEY', 'aaaa-1111'],
      ['B_KEY', '1111-bbbb'],
      ['C_KEY', 'cccc-2222'],
    ]).text('x aaaa-1111-bbbb y cccc-2222');

    expect(markedNames(masked)).toEqual(['A_KEY', 'B_KEY', 'C_KEY']);
    expect(markedNames('nothing masked here')).toEqual([]);
  });
});

describe('the run view of a tool attempt', () => {
  const run: RunRecord = {
    id: 'r1',
    workflowId: 'w',
    status: 'completed',
    input: {},
    trigger: { type: 'manual', user: { email: 'ann@example.com' } },
    createdAt: 0,
    endedAt: 10,
    outcome: { status: 'completed', vars: {} },
  } as unknown as RunRecord;
  const entry = (seq: number, type: AuditType, data: Record<string, unknown>): AuditRecord =>
    ({ seq, at: seq, type, step: 'echo', data }) as AuditRecord;

  it('shows the arguments the tool received and the credentials masked in its answer', () => {
    const view = runView(run, [
      entry(1, 'step.entered', { kind: 'tool', visit: 1 }),
      entry(2, 'attempt.started', { attempt: 1, tool: 'echo', args: { text: 'hi' } }),
      entry(3, 'tool.identity', {
        attempt: 1,
        injected: ['_user_email'],
        values: { _user_email: 'ann@example.com' },
      }),
      entry(4, 'tool.executed', { attempt: 1, ok: true, redacted: ['API_TOKEN'] }),
      entry(5, 'attempt.finished', { attempt: 1, ok: true }),
      entry(6, 'step.finished', { result: { echo: '[redacted: API_TOKEN]' } }),
    ]);

    const attempt = view.steps.find((s) => s.id === 'echo')?.attempts[0];
    expect(attempt?.input).toEqual({ text: 'hi', _user_email: 'ann@example.com' });
    expect(attempt?.redacted).toEqual(['API_TOKEN']);
  });
});
