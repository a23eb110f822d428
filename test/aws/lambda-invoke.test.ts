// Tasks that invoke a Lambda, as the Step Functions docs ask: the Lambda service's transient errors are
// retried first on every one of them without spending the step's own attempts, and no Task waits longer
// than a Lambda can run (a waitForTaskToken level, which waits for a person, keeps its own timeout).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { aslError } from '../../functions/core/handlers/answers.js';
import { polyfillPromiseWithResolvers } from '../../testing/run-aws.js';
import {
  ASL_ERROR,
  LAMBDA_MAX_SECONDS,
  LAMBDA_SERVICE_RETRY,
  lambdaRetrier,
  lambdaTimeoutSeconds,
  NO_TIMEOUT_SECONDS,
} from '../../translator/emit/aws/state.js';
import { emitAsl } from '../../translator/emit/aws-asl.js';
import { TranslateError } from '../../translator/emit/errors.js';
import type { IrRetry, IrWorkflow } from '../../translator/ir.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';

polyfillPromiseWithResolvers();

type AslState = Record<string, unknown> & { Retry?: Array<Record<string, unknown>> };

function irOf(text: string, format: 'yaml' | 'json' = 'yaml'): IrWorkflow {
  const result = validateWorkflow(text, format);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

function workflow(steps: string): IrWorkflow {
  return irOf(`version: 1\nid: t\nname: T\ntriggers: [{ type: manual, minRole: member }]\nsteps:\n${steps}`);
}

/** Every state of a definition, branches included, by name. */
function allStates(definition: Record<string, unknown>): Map<string, AslState> {
  const states = new Map<string, AslState>();
  const walk = (s: Record<string, AslState>): void => {
    for (const [name, state] of Object.entries(s)) {
      states.set(name, state);
      for (const branch of (state.Branches ?? []) as Array<{ States: Record<string, AslState> }>)
        walk(branch.States);
    }
  };
  walk(definition.States as Record<string, AslState>);
  return states;
}

const DOCUMENTED_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
];

describe('lambdaRetrier', () => {
  const retry: IrRetry = {
    maxAttempts: 3,
    intervalMs: 2000,
    backoffRate: 2,
    maxDelayMs: 60_000,
    jitter: 'full',
  };

  it("retries the Lambda service's transient errors first, with the documented policy", () => {
    const [first] = lambdaRetrier(retry, '/steps/0') as Array<Record<string, unknown>>;
    expect(first).toBe(LAMBDA_SERVICE_RETRY);
    expect(first?.ErrorEquals).toEqual(expect.arrayContaining(DOCUMENTED_SERVICE_ERRORS));
    expect(first?.ErrorEquals).toContain('Lambda.TooManyRequestsException');
    expect(first).toMatchObject({ IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 });
  });

  it("keeps the step's own retry, unchanged, after it", () => {
    expect(lambdaRetrier(retry, '/steps/0').slice(1)).toEqual([
      {
        ErrorEquals: [ASL_ERROR.retryable, 'States.Timeout'],
        IntervalSeconds: 2,
        MaxAttempts: 2,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      },
    ]);
  });

  it('has only the service rule for a Task without a retry of its own', () => {
    expect(lambdaRetrier(null, '/steps/0')).toEqual([LAMBDA_SERVICE_RETRY]);
    expect(lambdaRetrier({ ...retry, maxAttempts: 1 }, '/steps/0')).toEqual([LAMBDA_SERVICE_RETRY]);
  });
});

describe('lambdaTimeoutSeconds', () => {
  it('keeps a timeout a Lambda can wait for', () => {
    expect(lambdaTimeoutSeconds(30_000, '/steps/0')).toBe(30);
    expect(lambdaTimeoutSeconds(900_000, '/steps/0')).toBe(900);
  });

  it('caps a longer timeout at what a Lambda can run', () => {
    expect(lambdaTimeoutSeconds(1_800_000, '/steps/0')).toBe(LAMBDA_MAX_SECONDS);
    expect(LAMBDA_MAX_SECONDS).toBe(900);
  });

  it('leaves a step without a timeout without one: it waits until the run times out, as on every target', () => {
    expect(lambdaTimeoutSeconds(null, '/steps/0')).toBe(NO_TIMEOUT_SECONDS);
  });

  it('still refuses a timeout that is not whole seconds', () => {
    expect(() => lambdaTimeoutSeconds(1500, '/steps/0')).toThrow(TranslateError);
  });
});

const templates = join(import.meta.dirname, '..', '..', 'templates');
const workflows = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));

describe.each(workflows)('%s compiled to ASL', (file) => {
  const path = join(templates, file);
  const ir = irOf(readFileSync(path, 'utf8'), formatOf(path) === 'json' ? 'json' : 'yaml');
  const tasks = [...allStates(emitAsl(ir))].filter(([, state]) => state.Type === 'Task');

  it('has Tasks of every kind', () => {
    expect(tasks.length).toBeGreaterThan(0);
  });

  it("retries the Lambda service's errors first on every Task", () => {
    for (const [name, state] of tasks) expect(state.Retry?.[0], name).toEqual(LAMBDA_SERVICE_RETRY);
  });

  it('waits for no Lambda longer than it can run unless the step has no timeout; no heartbeat', () => {
    const untimed = new Set<string>();
    const collect = (nodes: IrWorkflow['graph']['nodes']): void => {
      for (const node of nodes) {
        if ((node.kind === 'tool' || node.kind === 'notify') && node.timeoutMs === null) untimed.add(node.id);
        if (node.kind === 'parallel') for (const b of node.branches) collect(b.nodes);
      }
    };
    collect(ir.graph.nodes);
    for (const [name, state] of tasks) {
      // An approval level waits for a person and keeps its level's timeout.
      if (state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') continue;
      if (untimed.has(name)) expect(state.TimeoutSeconds, name).toBe(NO_TIMEOUT_SECONDS);
      else expect(state.TimeoutSeconds, name).toBeLessThanOrEqual(LAMBDA_MAX_SECONDS);
    }
    for (const [name, state] of tasks) expect(state.HeartbeatSeconds, name).toBeUndefined();
  });

  it("keeps each step's own retry, second, with the step's attempts", () => {
    for (const node of ir.graph.nodes) {
      if ((node.kind !== 'tool' && node.kind !== 'notify') || node.retry.maxAttempts <= 1) continue;
      const own = tasks.find(([name]) => name === node.id)?.[1].Retry?.[1];
      expect(own, node.id).toMatchObject({
        ErrorEquals: [ASL_ERROR.retryable, 'States.Timeout'],
        MaxAttempts: node.retry.maxAttempts - 1,
      });
    }
  });
});

describe('a tool step on Step Functions', () => {
  it('times out at 900 s when its own timeout is longer, and says so', () => {
    const states = allStates(emitAsl(workflow('  - { id: a, type: tool, tool: x, timeout: 30m }\n')));
    expect(states.get('a')?.TimeoutSeconds).toBe(900);
    expect(JSON.parse(String(states.get('a.timeout')?.Cause))).toMatchObject({
      error: { code: ASL_ERROR.timeout, message: 'no result within 900000 ms', step: 'a' },
    });
  });

  it('keeps a timeout a Lambda can wait for, and its error', () => {
    const states = allStates(emitAsl(workflow('  - { id: a, type: tool, tool: x, timeout: 30s }\n')));
    expect(states.get('a')?.TimeoutSeconds).toBe(30);
    expect(JSON.parse(String(states.get('a.timeout')?.Cause))).toMatchObject({
      error: { message: 'no result within 30000 ms' },
    });
  });
});

/**
 * Runs a one-tool workflow (two attempts) on aws-local-stepfunctions, the tool's Lambda failing with the
 * given errors in turn and then answering; answers the outcome and the invocations made.
 */
async function runTool(failures: string[]): Promise<{ ok: boolean; error?: string; invocations: number }> {
  const ir = workflow('  - { id: a, type: tool, tool: x, retry: { maxAttempts: 2, interval: 1s } }\n');
  const definition = JSON.parse(
    JSON.stringify(emitAsl(ir)).replace(
      /\$\{(\w+)FunctionArn\}/g,
      (_, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    ),
  ) as StateMachineDefinition;
  let invocations = 0;
  const execution = new StateMachine(definition).run({ ctx: {}, vars: {} } as never, {
    overrides: {
      taskResourceLocalHandlers: {
        a: async () => {
          const failure = failures[invocations++];
          if (failure !== undefined) throw aslError(failure, { error: { code: failure, step: 'a' } });
          return { done: true };
        },
      },
      // The retry intervals are the library's concern: no waiting here.
      retryIntervalOverrides: { a: 0 },
    },
    // The library has no retry count or entered time of its own: the context object supplies them.
    context: { State: { RetryCount: 0, EnteredTime: '2025-01-01T00:00:00.000Z' } },
  });
  try {
    await execution.result;
    return { ok: true, invocations };
  } catch (error) {
    // The library's ExecutionError holds the state's error as its cause.
    return { ok: false, error: ((error as Error).cause as Error).name, invocations };
  }
}

describe('a Lambda service error on Step Functions (aws-local-stepfunctions)', () => {
  it("is retried without spending the step's attempts", async () => {
    const outcome = await runTool([
      'Lambda.ServiceException',
      'Lambda.TooManyRequestsException',
      ASL_ERROR.retryable,
      'Lambda.SdkClientException',
    ]);
    expect(outcome).toEqual({ ok: true, invocations: 5 });
  });

  it("leaves the step's attempts as they were: a second retryable failure ends it", async () => {
    const outcome = await runTool([ASL_ERROR.retryable, 'Lambda.ServiceException', ASL_ERROR.retryable]);
    expect(outcome).toEqual({ ok: false, error: ASL_ERROR.retryable, invocations: 3 });
  });

  it('is given up after the documented six retries', async () => {
    const outcome = await runTool(Array(7).fill('Lambda.ServiceException'));
    expect(outcome).toEqual({ ok: false, error: 'Lambda.ServiceException', invocations: 7 });
  });
});
