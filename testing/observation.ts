// What running one scenario case showed, in a shape that does not depend on the target it ran on, and
// its comparison with the case's expectations as readable differences.
import type { IrGraph, IrWorkflow } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import type { ScenarioExpect } from './scenario.js';

export interface NotificationRecord {
  step: string;
  channel: string;
  to: string[];
  subject: string | null;
  message: string;
}

export interface Observation {
  status: string;
  /** Steps entered, in order. */
  path: string[];
  toolCalls: Record<string, number>;
  /** Each approval step's result variable. */
  approvals: Record<string, JsonValue>;
  notifications: NotificationRecord[];
  vars: Record<string, JsonValue>;
  error: { code: string; message: string; step: string | null } | null;
}

/** Differences between what was expected and what happened; empty when the case passes. */
export function compare(expect: ScenarioExpect, seen: Observation, ir: IrWorkflow): string[] {
  const failures: string[] = [];
  if (expect.status !== seen.status) {
    const why = seen.error
      ? ` (${seen.error.code}: ${seen.error.message}${seen.error.step ? ` at ${seen.error.step}` : ''})`
      : '';
    failures.push(`status: expected ${expect.status}, got ${seen.status}${why}`);
  }
  if (expect.path !== undefined && !samePath(expect.path, seen.path, ir)) {
    failures.push(`path: expected [${expect.path.join(', ')}]\n      got      [${seen.path.join(', ')}]`);
  }
  if (expect.vars !== undefined) failures.push(...subsetDiff('vars', expect.vars, seen.vars));
  for (const [tool, count] of Object.entries(expect.toolCalls ?? {})) {
    const actual = seen.toolCalls[tool] ?? 0;
    if (actual !== count) failures.push(`toolCalls.${tool}: expected ${count}, got ${actual}`);
  }
  for (const [step, wanted] of Object.entries(expect.approvals ?? {})) {
    const actual = seen.approvals[step];
    if (actual === undefined) failures.push(`approvals.${step}: the step has no result (it did not run)`);
    else failures.push(...subsetDiff(`approvals.${step}`, wanted, actual));
  }
  if (expect.notifications !== undefined) {
    const wanted = expect.notifications;
    if (wanted.length !== seen.notifications.length) {
      failures.push(
        `notifications: expected ${wanted.length}, got ${seen.notifications.length}${seen.notifications.length ? `: ${seen.notifications.map(describeNotification).join('; ')}` : ''}`,
      );
    } else {
      wanted.forEach((w, i) => {
        const actual = seen.notifications[i];
        if (actual !== undefined && !notificationMatches(w, actual)) {
          failures.push(
            `notifications[${i}]: expected ${JSON.stringify(w)}, got ${describeNotification(actual)}`,
          );
        }
      });
    }
  }
  if (expect.error !== undefined) {
    if (seen.error === null) failures.push(`error: expected ${JSON.stringify(expect.error)}, got none`);
    else failures.push(...subsetDiff('error', expect.error, seen.error as unknown as JsonValue));
  }
  return failures;
}

/** Inside a parallel, order is only checked within each branch: compare the steps of each lane in turn. */
function samePath(expected: string[], actual: string[], ir: IrWorkflow): boolean {
  const lanes = laneOf(ir);
  const byLane = (path: string[]): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const step of path) {
      const lane = lanes.get(step) ?? `?${step}`;
      out.set(lane, [...(out.get(lane) ?? []), step]);
    }
    return out;
  };
  const a = byLane(expected);
  const b = byLane(actual);
  if (a.size !== b.size) return false;
  for (const [lane, steps] of a) {
    const other = b.get(lane);
    if (other === undefined || other.join('\u0000') !== steps.join('\u0000')) return false;
  }
  return true;
}

/**
 * An observation as targets are compared: steps that run concurrently in different branches have no
 * order between them (two branches entering steps at the same instant may be recorded either way), so
 * the path and the notifications are compared per lane — the main line, or one branch of a parallel —
 * in order within each lane, exactly as a scenario's `path` is checked (samePath).
 */
export function conformanceView(
  seen: Observation,
  ir: IrWorkflow,
): Omit<Observation, 'path' | 'notifications'> & {
  path: Record<string, string[]>;
  notifications: Record<string, NotificationRecord[]>;
} {
  const lanes = laneOf(ir);
  const group = <T>(items: T[], stepOf: (item: T) => string): Record<string, T[]> => {
    const out: Record<string, T[]> = {};
    for (const item of items) {
      const step = stepOf(item);
      const lane = lanes.get(step) ?? `?${step}`;
      out[lane] = [...(out[lane] ?? []), item];
    }
    return out;
  };
  return {
    ...seen,
    path: group(seen.path, (step) => step),
    notifications: group(seen.notifications, (n) => n.step),
  };
}

function laneOf(ir: IrWorkflow): Map<string, string> {
  const lanes = new Map<string, string>();
  const walk = (graph: IrGraph, lane: string): void => {
    for (const node of graph.nodes) {
      lanes.set(node.id, lane);
      if (node.kind === 'parallel') {
        node.branches.forEach((branch, i) => {
          walk(branch, `${node.id}[${i}]`);
        });
      }
    }
  };
  walk(ir.graph, '');
  return lanes;
}

function notificationMatches(
  wanted: NonNullable<ScenarioExpect['notifications']>[number],
  actual: NotificationRecord,
): boolean {
  if (wanted.channel !== undefined && wanted.channel !== actual.channel) return false;
  if (wanted.step !== undefined && wanted.step !== actual.step) return false;
  if (wanted.subject !== undefined && wanted.subject !== actual.subject) return false;
  if (wanted.message !== undefined && wanted.message !== actual.message) return false;
  if (wanted.to !== undefined) {
    const to = typeof wanted.to === 'string' ? [wanted.to] : wanted.to;
    if (to.length !== actual.to.length || to.some((t) => !actual.to.includes(t))) return false;
  }
  return true;
}

function describeNotification(n: NotificationRecord): string {
  return `${n.channel} to ${n.to.join(', ')} from ${n.step}${n.subject ? ` "${n.subject}"` : ''}`;
}

/** Every key of `wanted` must be present in `actual` with a matching value (objects recursively). */
export function subsetDiff(label: string, wanted: unknown, actual: unknown): string[] {
  if (wanted !== null && typeof wanted === 'object' && !Array.isArray(wanted)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${label}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual ?? null)}`];
    }
    return Object.entries(wanted).flatMap(([key, value]) =>
      subsetDiff(
        `${label}.${key}`,
        value,
        Object.hasOwn(actual, key) ? (actual as Record<string, unknown>)[key] : undefined,
      ),
    );
  }
  if (Array.isArray(wanted)) {
    if (!Array.isArray(actual) || actual.length !== wanted.length) {
      return [`${label}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual ?? null)}`];
    }
    return wanted.flatMap((item, i) => subsetDiff(`${label}[${i}]`, item, actual[i]));
  }
  if (wanted === actual || (wanted === null && actual === undefined)) return [];
  return [
    `${label}: expected ${JSON.stringify(wanted)}, got ${actual === undefined ? 'nothing' : JSON.stringify(actual)}`,
  ];
}
