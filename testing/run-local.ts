// Runs a scenario case on the embedded engine (in-memory SQLite, virtual clock): tools and channels answer
// from the case's mocks, approvers decide at the case's virtual times, and the result is observed.
import { VirtualClock } from '../adapters/local/clock.js';
import { InMemoryDirectory } from '../adapters/local/directory.js';
import { createEmbeddedEngine } from '../adapters/local/engine.js';
import type { ApprovalService } from '../functions/core/approvals.js';
import { checkInput } from '../functions/core/inputs.js';
import { ActivityError, type AuditRecord, type Notifier, type ToolInvoker } from '../functions/core/ports.js';
import type { Identity, NotifyRequest, RunOutcome, ToolCallRequest } from '../functions/core/protocol.js';
import { ERROR_CODE } from '../translator/error-codes.js';
import type { IrWorkflow } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import type { NotificationRecord, Observation } from './observation.js';
import { durationMs, type Scenario, type ScenarioAnswer, type ScenarioCase } from './scenario.js';

/** A run that loops through delays without end stops here (in virtual time). */
export const VIRTUAL_TIME_LIMIT_MS = 366 * 86_400_000;
export const TIMER_LIMIT = 100_000;

export class ScenarioSetupError extends Error {
  override name = 'ScenarioSetupError';
}

export function identityFor(scenario: Scenario, email: string | undefined): Identity {
  if (email === undefined) return { email: 'tester@example.com', role: 'member', groups: [], manager: null };
  const user = scenario.directory?.find((u) => u.email.toLowerCase() === email.toLowerCase());
  if (user === undefined)
    throw new ScenarioSetupError(`'as: ${email}' is not a user of the scenario's directory`);
  return {
    email: user.email.toLowerCase(),
    role: user.role,
    groups: user.groups ?? [],
    manager: user.manager?.toLowerCase() ?? null,
    name: user.name ?? null,
  };
}

export function caseInput(ir: IrWorkflow, c: ScenarioCase): Record<string, JsonValue> {
  const trigger = c.trigger ?? 'manual';
  if (!ir.triggers.some((t) => t.type === trigger)) {
    throw new ScenarioSetupError(`the workflow has no ${trigger} trigger`);
  }
  const checked = checkInput(ir.inputs, c.input ?? {});
  if (!checked.ok)
    throw new ScenarioSetupError(
      `input does not match 'inputs': ${checked.problems.map((p) => p.message).join('; ')}`,
    );
  return checked.input;
}

/** The case's mocked world: its directory, tools and channels answering from its mocks on `clock`. */
export function scenarioMocks(
  scenario: Scenario,
  c: ScenarioCase,
  clock: VirtualClock,
): {
  directory: InMemoryDirectory;
  tools: ToolInvoker;
  notifier: Notifier;
  toolCalls: Record<string, number>;
  notifications: NotificationRecord[];
} {
  const directory = scenarioDirectory(scenario);
  const toolCalls: Record<string, number> = {};
  const channelCalls: Record<string, number> = {};
  // Answers by step are counted per step: concurrent branches calling one tool each get their own.
  const stepCalls: Record<string, number> = {};
  const notifications: NotificationRecord[] = [];
  const answer = async (answers: ScenarioAnswer | ScenarioAnswer[], call: number): Promise<unknown> => {
    const list = Array.isArray(answers) ? answers : [answers];
    const chosen = list[Math.min(call, list.length) - 1] ?? list[list.length - 1];
    if (chosen === undefined) return null;
    // Every answer comes by a timer on the virtual clock, even one with no delay: answers due at the same
    // instant are then taken one at a time, in the order the calls were made, on every target.
    await clock.sleep(durationMs(chosen.after));
    if ('error' in chosen) {
      throw new ActivityError(
        chosen.error.code,
        chosen.error.message ?? chosen.error.code,
        chosen.error.retryable ?? true,
      );
    }
    return chosen.result;
  };
  const tools: ToolInvoker = {
    call: (request: ToolCallRequest) => {
      const name = request.server === null ? request.tool : `${request.server}/${request.tool}`;
      toolCalls[name] = (toolCalls[name] ?? 0) + 1;
      stepCalls[request.stepId] = (stepCalls[request.stepId] ?? 0) + 1;
      const byStep = c.steps?.[request.stepId];
      if (byStep !== undefined) return answer(byStep, stepCalls[request.stepId] ?? 1);
      const answers = c.tools?.[name] ?? c.tools?.[request.tool];
      if (answers === undefined) {
        return Promise.reject(
          new ActivityError(ERROR_CODE.unmockedTool, `no mock for tool '${name}' in case '${c.name}'`, false),
        );
      }
      return answer(answers, toolCalls[name]);
    },
  };
  const notifier: Notifier = {
    send: async (request: NotifyRequest) => {
      channelCalls[request.channel] = (channelCalls[request.channel] ?? 0) + 1;
      stepCalls[request.stepId] = (stepCalls[request.stepId] ?? 0) + 1;
      const byStep = c.steps?.[request.stepId];
      if (byStep !== undefined) await answer(byStep, stepCalls[request.stepId] ?? 1);
      else {
        const answers = c.channels?.[request.channel];
        if (answers !== undefined) await answer(answers, channelCalls[request.channel] ?? 1);
        else await clock.sleep(0);
      }
      notifications.push({
        step: request.stepId,
        channel: request.channel,
        to: request.to,
        subject: request.subject,
        message: request.message,
      });
      return { messageId: `${request.channel}-${notifications.length}` };
    },
  };
  return { directory, tools, notifier, toolCalls, notifications };
}

/** The scenario's users as a directory (approvers resolve through it). */
export function scenarioDirectory(scenario: Scenario): InMemoryDirectory {
  return new InMemoryDirectory(
    (scenario.directory ?? []).map((u) => ({
      email: u.email,
      role: u.role,
      groups: u.groups ?? [],
      manager: u.manager ?? null,
      name: u.name ?? null,
    })),
  );
}

/** The case's decisions on an approval step, each submitted at its `after` from when the step was entered. */
export function scheduleDecisions(
  c: ScenarioCase,
  clock: VirtualClock,
  approvals: Pick<ApprovalService, 'decide'>,
  runId: string,
  stepId: string,
  enteredAt: number,
): void {
  for (const decision of c.approvals?.[stepId] ?? []) {
    clock.setTimer(enteredAt + durationMs(decision.after), () => {
      void approvals.decide({
        runId,
        stepId,
        by: decision.by,
        decision: decision.decision,
        comment: decision.comment ?? null,
        channel: 'scenario',
      });
    });
  }
}

/** Runs case `c` of `scenario`; `onAudit` hears every entry of the run's audit trail as it is committed. */
export async function runCaseLocal(
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
  onAudit?: (entry: AuditRecord) => void,
): Promise<Observation> {
  const user = identityFor(scenario, c.as);
  const input = caseInput(ir, c);
  const clock = new VirtualClock();
  const { directory, tools, notifier, toolCalls, notifications } = scenarioMocks(scenario, c, clock);
  let runId = '';
  const engine = createEmbeddedEngine({
    file: ':memory:',
    clock,
    directory,
    tools,
    notifier,
    approvalNotifier: { requested: async () => {} },
    onAudit: (id, entry) => {
      if (id === runId) onAudit?.(entry);
      if (id !== runId || entry.type !== 'step.entered' || entry.step === null || entry.data.visit !== 1)
        return;
      const stepId = entry.step;
      scheduleDecisions(c, clock, engine.approvals, runId, stepId, entry.at);
    },
  });
  try {
    runId = `run-${slug(c.name)}`;
    await engine.host.startRun({
      runId,
      workflowId: ir.id,
      ir,
      input,
      trigger: { type: c.trigger ?? 'manual', user },
    });
    if (c.cancel !== undefined) {
      const by = c.cancel.by ?? user.email;
      clock.setTimer(clock.now() + durationMs(c.cancel.after), () => {
        void engine.host.cancelRun(runId, by).catch(() => undefined);
      });
    }
    await clock.run(engine.host, clock.now() + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
    const run = await engine.host.getRun(runId);
    const audit = await engine.host.audit(runId);
    const outcome: RunOutcome | null = run?.outcome ?? null;
    const approvals: Record<string, JsonValue> = {};
    for (const [step, output] of approvalOutputs(ir)) {
      const value = outcome?.vars[output];
      if (value !== undefined) approvals[step] = value;
    }
    return {
      status: run?.status ?? 'unknown',
      path: audit.filter((e) => e.type === 'step.entered' && e.step !== null).map((e) => e.step as string),
      toolCalls,
      approvals,
      notifications,
      vars: outcome?.vars ?? {},
      error: outcome?.error ?? null,
    };
  } finally {
    await engine.host.close();
    engine.db.close();
  }
}

export function approvalOutputs(ir: IrWorkflow): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (nodes: IrWorkflow['graph']['nodes']): void => {
    for (const node of nodes) {
      if (node.kind === 'approval') out.push([node.id, node.output]);
      if (node.kind === 'parallel') for (const branch of node.branches) walk(branch.nodes);
    }
  };
  walk(ir.graph.nodes);
  return out;
}

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 60);
}
