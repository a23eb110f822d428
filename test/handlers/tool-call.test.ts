// The shared tool.call handler: each target's payload decoded into the same ToolCallRequest (templates
// resolved, attempt and idempotency key), and the call made with large results offloaded and the
// pipeline's history entries handed to the caller's audit writer.
import { describe, expect, it, onTestFinished } from 'vitest';
import { openDatabase } from '../../adapters/local/database.js';
import { SqliteStepVisits } from '../../adapters/local/step-tallies.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import {
  aslActivityFailure,
  aslVisit,
  gcpFailure,
  toolCallFromAsl,
  toolCallFromGcp,
  toolCallHandler,
} from '../../functions/core/handlers/index.js';
import { ActivityError } from '../../functions/core/ports.js';
import { isResultRef, type ToolCallRequest } from '../../functions/core/protocol.js';
import type { AslToolCallPayload, GcpToolCallBody } from '../../functions/core/wire.js';
import { alice, ctx, memoryResults, template } from './support.js';

const vars = { amount: 120, customer: { id: 'c-7' } };
const args = template({ id: '{{customer.id}}', total: '{{amount}}', note: 'for {{customer.id}}' });

const asl: AslToolCallPayload = {
  activity: 'tool.call',
  ctx,
  stepId: 'charge',
  attempt: 2,
  enteredTime: '2026-01-01T00:00:00.000Z',
  vars,
  server: 'billing',
  tool: 'charge',
  args,
  timeoutMs: 5000,
};

const gcp: GcpToolCallBody = {
  kind: 'tool.call',
  workflowId: 'wf',
  runId: 'run-1',
  stepId: 'charge',
  visit: 3,
  identity: alice,
  attempt: 2,
  server: 'billing',
  tool: 'charge',
  args,
  timeoutMs: null,
  vars,
  callbackUrl: 'https://callbacks.test/1',
};

describe('tool.call decoders', () => {
  it('decodes an ASL payload: RetryCount + 1 is the attempt, the arguments resolve', () => {
    expect(toolCallFromAsl(asl, 1)).toEqual({
      workflowId: 'wf',
      runId: 'run-1',
      stepId: 'charge',
      visit: 1,
      identity: alice,
      attempt: 3,
      idempotencyKey: 'run-1:charge:3',
      server: 'billing',
      tool: 'charge',
      args: { id: 'c-7', total: 120, note: 'for c-7' },
      timeoutMs: 5000,
    } satisfies ToolCallRequest);
  });

  it('numbers the visits of an ASL state by its entered time: retries keep the visit, the next visit changes the key', async () => {
    const db = openDatabase(':memory:');
    onTestFinished(() => {
      db.close();
    });
    const visits = new SqliteStepVisits(db);
    const first = toolCallFromAsl(asl, await aslVisit(visits, asl));
    const retry = toolCallFromAsl({ ...asl, attempt: 3 }, await aslVisit(visits, asl));
    const next = { ...asl, enteredTime: '2026-01-01T00:05:00.000Z' };
    const again = toolCallFromAsl(next, await aslVisit(visits, next));
    expect([first.idempotencyKey, retry.idempotencyKey, again.idempotencyKey]).toEqual([
      'run-1:charge:3',
      'run-1:charge:4',
      'run-1:charge#2:3',
    ]);
  });

  it('decodes a GCP body: its visit and attempt make the idempotency key', () => {
    const request = toolCallFromGcp(gcp);
    expect(request.idempotencyKey).toBe('run-1:charge#3:2');
    expect(request).toMatchObject({ visit: 3, attempt: 2, timeoutMs: null, identity: alice });
    expect(request.args).toEqual({ id: 'c-7', total: 120, note: 'for c-7' });
  });

  it('refuses arguments that are not a template', () => {
    expect(() => toolCallFromGcp({ ...gcp, args: 'not json' })).toThrow(SyntaxError);
  });
});

describe('tool.call handler', () => {
  it('answers the tool result, and null for a tool that answered nothing', async () => {
    const results = memoryResults();
    const answers: unknown[] = [{ ok: true }, undefined];
    const call = toolCallHandler({ tools: { call: async () => answers.shift() }, results });
    await expect(call(toolCallFromGcp(gcp))).resolves.toEqual({ ok: true });
    await expect(call(toolCallFromGcp(gcp))).resolves.toBeNull();
    expect(results.stored).toEqual([]);
  });

  it('stores a result above the limit and answers its reference, writing the pipeline stage it kept', async () => {
    const results = memoryResults();
    const audit: AuditEntry[] = [];
    const call = toolCallHandler({
      tools: { call: async () => ({ rows: 'x'.repeat(200) }) },
      results,
      resultLimitBytes: 100,
    });
    const answer = await call(toolCallFromAsl(asl, 1), { audit: (entry) => void audit.push(entry) });
    expect(isResultRef(answer)).toBe(true);
    expect(results.stored).toHaveLength(1);
    expect(audit).toEqual([
      expect.objectContaining({
        type: 'tool.result',
        step: 'charge',
        data: expect.objectContaining({ stored: 'reference' }),
      }),
    ]);
  });

  it('passes a tool failure on for the target to encode', async () => {
    const call = toolCallHandler({
      tools: {
        call: async () => {
          throw new ActivityError('Tool.Denied', 'no', false);
        },
      },
      results: memoryResults(),
    });
    const failure = await call(toolCallFromGcp(gcp)).catch((error: unknown) => error);
    expect(gcpFailure(failure)).toEqual({
      ok: false,
      error: { code: 'Tool.Denied', message: 'no', retryable: false },
    });
    const lambda = aslActivityFailure(failure, 'charge');
    expect(lambda.name).toBe('Stepgate.Fatal');
    expect(JSON.parse(lambda.message)).toEqual({
      error: { code: 'Tool.Denied', message: 'no', step: 'charge' },
    });
  });
});
