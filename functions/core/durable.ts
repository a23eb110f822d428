// The durable-execution port the orchestrator is written against. It is the intersection of what Azure
// Durable Functions (callActivity, waitForExternalEvent, createTimer, Task.any) and the embedded SQLite
// engine both provide, so one orchestrator runs unchanged on either host.

import type { AuditEntry } from './audit.js';
import type { TaskError } from './protocol.js';

export type { AuditEntry, TaskError };

/** A durable operation. When the orchestrator resumes after yielding it, it is complete. */
export interface DurableTask {
  readonly id: number;
  readonly isCompleted: boolean;
  readonly isFaulted: boolean;
  readonly result: unknown;
  readonly error: TaskError | undefined;
}

export interface TimerTask extends DurableTask {
  cancel(): void;
}

export interface DurableContext {
  readonly instanceId: string;
  /** Deterministic current time in ms: the time of the history event the orchestrator last saw. */
  now(): number;
  callActivity(name: string, input: unknown): DurableTask;
  createTimer(fireAt: number): TimerTask;
  waitForEvent(name: string): DurableTask;
  /** Completes when the first of `tasks` completes; resumes the orchestrator with that task. */
  any(tasks: readonly DurableTask[]): DurableTask;
  /** Appends to the run's audit trail (skipped on replay). */
  record(entry: AuditEntry): void;
}

/** An orchestrator yields tasks and is resumed with each one once it is complete. */
export type Orchestration<T> = Generator<DurableTask, T, DurableTask>;
