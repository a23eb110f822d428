// The run-end report (emitGcpWorkflows' `reportEnd`, translator/emit/gcp/run-end.ts) on the GCP oracle: the
// wrapped workflow posts its outcome to the run-end function exactly once, on the completed path, on the
// failed path (re-raising the outcome) and for an engine error; a report that never gets through leaves
// the execution's own ending as it was; and the wrapped output passes the official Workflows schema.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VirtualClock } from '../../adapters/local/clock.js';
import type { GcpRunEndBody } from '../../functions/core/wire.js';
import {
  GcpInterpreter,
  GcpRaise,
  type GcpValue,
  type HttpRoute,
} from '../../testing/gcp-oracle/interpreter.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';

const RUN_END = 'https://functions.test/run-end';
const TOOL_CALL = 'https://functions.test/tool-call';

function irOf(text: string, file = 'w.yaml'): IrWorkflow {
  const result = validateWorkflow(text, formatOf(file));
  if (result.ir === undefined) throw new Error(`invalid workflow: ${JSON.stringify(result.diagnostics)}`);
  return result.ir;
}

const BRANCHES = irOf(`
version: 1
id: branches
inputs:
  type: object
  properties:
    n: { type: number }
steps:
  - id: big
    type: condition
    if: n > 1
    then: pause
    else: end
  - id: pause
    type: delay
    duration: 5m
`);

const CALLS = irOf(`
version: 1
id: calls
steps:
  - id: deny
    type: tool
    tool: crm-delete
    args: { id: 1 }
    retry: { maxAttempts: 1 }
`);

function argument(ir: IrWorkflow, input: GcpValue): GcpValue {
  const identity = { email: 'alice@example.com', role: 'member', groups: [], manager: null };
  return {
    input,
    trigger: { type: 'manual', user: identity },
    run: { id: 'run-1', startedAt: '2026-01-05T09:00:00.000Z', workflowId: ir.id },
    stepgate: {
      runId: 'run-1',
      workflowId: ir.id,
      identity,
      functions: { runEnd: RUN_END, toolCall: TOOL_CALL },
    },
  };
}

/** Runs `ir` compiled with reportEnd; `tool` answers a tool call's callback; the run-end posts are kept. */
async function run(ir: IrWorkflow, arg: GcpValue, options: { tool?: GcpValue; runEndDown?: boolean } = {}) {
  const clock = new VirtualClock();
  const reports: Array<{ body: GcpValue; auth: GcpValue }> = [];
  let interpreter: GcpInterpreter | undefined;
  const http: HttpRoute = async (url, body, call) => {
    if (url === RUN_END) {
      reports.push({ body, auth: call.auth });
      if (options.runEndDown === true)
        throw new GcpRaise({ code: 503, message: 'down', tags: ['HttpError'] });
      return null;
    }
    if (url === TOOL_CALL) {
      const callbackUrl = (body as { callbackUrl: string }).callbackUrl;
      clock.setTimer(clock.now() + 1_000, () => interpreter?.deliver(callbackUrl, options.tool ?? null));
      return { accepted: true };
    }
    throw new Error(`no function at ${url}`);
  };
  const doc = parse(emitGcpWorkflows(ir, { reportEnd: true })) as ConstructorParameters<
    typeof GcpInterpreter
  >[0];
  interpreter = new GcpInterpreter(doc, { clock, http }, 'executions/run-1');
  const execution = interpreter.execute(arg);
  await clock.run(interpreter);
  return { result: await execution, reports };
}

describe('the run-end report of a deployed GCP workflow', () => {
  it('posts the completed outcome once, with OIDC, and returns it', async () => {
    const { result, reports } = await run(BRANCHES, argument(BRANCHES, { n: 2 }));
    const outcome = { status: 'completed', error: null, vars: { n: 2 } };
    expect(result).toEqual({ state: 'succeeded', result: outcome });
    const body: GcpRunEndBody = { runId: 'run-1', outcome };
    expect(reports).toEqual([{ body, auth: { type: 'OIDC' } }]);
  });

  it('posts the failed outcome once and re-raises it', async () => {
    const failure = { ok: false, error: { code: 'Tool.Denied', message: 'not allowed', retryable: false } };
    const { result, reports } = await run(CALLS, argument(CALLS, {}), { tool: failure });
    const outcome = {
      status: 'failed',
      error: { code: 'Tool.Denied', message: 'not allowed', step: 'deny' },
      vars: {},
    };
    expect(result).toEqual({ state: 'failed', error: outcome });
    expect(reports.map((r) => r.body)).toEqual([{ runId: 'run-1', outcome }]);
  });

  it('reports an error the workflow did not raise as an outcome as a failed engine error', async () => {
    const broken = argument(BRANCHES, { n: 2 }) as Record<string, GcpValue>;
    const { input: _input, ...withoutInput } = broken;
    const { result, reports } = await run(BRANCHES, withoutInput);
    expect(reports).toHaveLength(1);
    const { outcome } = (reports[0]?.body ?? {}) as unknown as GcpRunEndBody;
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'Stepgate.EngineError', step: null } });
    expect(JSON.parse(outcome.error?.message ?? '')).toEqual({
      message: 'key not found: input',
      tags: ['KeyError'],
    });
    // The execution raises the outcome it reported, so its error reads the same.
    expect(result).toEqual({ state: 'failed', error: outcome });
  });

  it('retries a report that fails, and ends as the workflow did when it never gets through', async () => {
    const { result, reports } = await run(BRANCHES, argument(BRANCHES, { n: 0 }), { runEndDown: true });
    expect(result).toEqual({
      state: 'succeeded',
      result: { status: 'completed', error: null, vars: { n: 0 } },
    });
    expect(reports).toHaveLength(6);
  });

  it('leaves the output without the option as it was, and passes the official schema with it', () => {
    const reference = '/work/shared/reference/gcp-workflows';
    const schema = JSON.parse(readFileSync(join(reference, 'workflows.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const templates = join(import.meta.dirname, '..', '..', 'templates');
    const files = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const ir = irOf(readFileSync(join(templates, file), 'utf8'), file);
      const plain = emitGcpWorkflows(ir);
      expect(emitGcpWorkflows(ir, { reportEnd: false })).toBe(plain);
      const wrapped = parse(emitGcpWorkflows(ir, { reportEnd: true })) as Record<string, unknown>;
      expect(validate(wrapped) ? '' : ajv.errorsText(validate.errors), file).toBe('');
      const { main: plainMain, ...plainRest } = parse(plain) as Record<string, unknown>;
      const { main: _main, sg_run, ...wrappedRest } = wrapped;
      expect(sg_run).toEqual(plainMain);
      expect(wrappedRest).toEqual(plainRest);
    }
  });
});
