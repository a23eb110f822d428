// Scheduled runs, framework-free: who may create a schedule, whose identity its runs carry, when it fires
// next (croner, in the schedule's IANA time zone), and the Scheduler that arms one timer per enabled
// schedule on the Clock port and fires it.
//
// Scopes (the creator's role is checked at creation and again at every fire, since it may change):
//
// | scope   | who may create                      | the run acts as                                       |
// | ------- | ----------------------------------- | ----------------------------------------------------- |
// | `user`  | member or above                     | the creator (as the directory knows them at the fire) |
// | `group` | lead or above, member of that group | the group: `group:<name>`, groups [name]              |
// | `org`   | manager or above                    | the org: `org`, no groups                             |
//
// Group and org runs do not act as the creator: the vault cascade (user → group → org) must resolve the
// group's credentials (or the org's), never the creator's personal ones or another of their groups'. So the
// identity's email is `group:<name>` / `org` — no user has an email without '@', and the vault's user level
// for it holds nothing unless someone stores credentials there on purpose. Its role is the creator's
// current role (a schedule never acts above the person who answers for it), its manager the creator (who
// receives `{{trigger.user.manager}}` approvals), its name says what it is.
//
// Firing: each fire is recorded once under (schedule id, scheduled time) in the same transaction that
// advances next_fire_at, so a restart or a second scheduler never fires one scheduled time twice. Missed
// times (the scheduler was down) fire once at start, not once per missed tick. A fire whose run was not
// started because the scheduler stopped in between is found at the next start: marked `started` when its
// run exists, otherwise `failed` (reason `interrupted`) — at most once, never twice.
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { cronProblem, timeZoneProblem } from '../../../translator/cron.js';
import { type Role, SCHEDULE_PRESETS, type SchedulePreset } from '../../../translator/definition.js';
import { ranksAtLeast } from '../../../translator/roles.js';
import type {
  Clock,
  ScheduleFilter,
  ScheduleRecord,
  ScheduleScope,
  ScheduleStore,
  TimerHandle,
} from '../ports.js';
import type { Identity } from '../protocol.js';

export { SCHEDULE_PRESETS, type SchedulePreset };

export const ORG_IDENTITY_EMAIL = 'org';

/** A refused schedule operation; `status` is the HTTP status to answer with. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
  constructor(
    readonly status: 400 | 403 | 404,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function atLeast(identity: Pick<Identity, 'role'>, role: Role): boolean {
  return ranksAtLeast(identity.role, role);
}

/** The first time strictly after `after` (ms since epoch) that `cron` matches in `timezone`, or null. */
export function nextFireTime(cron: string, timezone: string, after: number): number | null {
  const next = new Cron(cron, { paused: true, mode: '5-part', timezone }).nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

/**
 * Why `creator` may not have a schedule of this scope (at creation, and again at each fire), or undefined.
 * `scopeRef` is the group's name for scope group.
 */
export function scheduleScopeProblem(
  scope: ScheduleScope,
  scopeRef: string | null,
  creator: Identity | undefined,
): string | undefined {
  if (creator === undefined) return 'the creator is no longer in the directory';
  switch (scope) {
    case 'user':
      return atLeast(creator, 'member')
        ? undefined
        : `a user schedule needs the role member or above; ${creator.email} is ${creator.role}`;
    case 'group':
      if (!atLeast(creator, 'lead'))
        return `a group schedule needs the role lead or above; ${creator.email} is ${creator.role}`;
      if (scopeRef === null || !creator.groups.includes(scopeRef))
        return `a group schedule can only be created by a member of the group; ${creator.email} is not in '${scopeRef}'`;
      return undefined;
    case 'org':
      return atLeast(creator, 'manager')
        ? undefined
        : `an org schedule needs the role manager or above; ${creator.email} is ${creator.role}`;
  }
}

/**
 * The default `authorize` of a Scheduler: the schedule's scope rules applied to its creator as the
 * directory knows them now. `lookup` is Directory.user.
 */
export async function authorizeScheduleFire(
  schedule: ScheduleRecord,
  lookup: (email: string) => Promise<Identity | undefined>,
): Promise<true | string> {
  return scheduleScopeProblem(schedule.scope, schedule.scopeRef, await lookup(schedule.createdBy)) ?? true;
}

/** The identity a scheduled run carries (see the table at the top of this file). */
export function scheduleRunIdentity(schedule: ScheduleRecord, creator: Identity): Identity {
  switch (schedule.scope) {
    case 'user':
      return creator;
    case 'group': {
      const group = schedule.scopeRef ?? '';
      return {
        email: `group:${group}`,
        role: creator.role,
        groups: [group],
        manager: creator.email,
        name: `${group} (group schedule)`,
      };
    }
    case 'org':
      return {
        email: ORG_IDENTITY_EMAIL,
        role: creator.role,
        groups: [],
        manager: creator.email,
        name: 'organisation (org schedule)',
      };
  }
}

/** Who may enable, disable or delete a schedule: its creator, or an admin. */
export function canManageSchedule(schedule: ScheduleRecord, actor: Identity): boolean {
  return actor.email.toLowerCase() === schedule.createdBy.toLowerCase() || atLeast(actor, 'admin');
}

export interface CreateScheduleRequest {
  workflowId: string;
  /** Exactly one of preset and cron. */
  preset?: SchedulePreset;
  cron?: string;
  /** IANA; default UTC. */
  timezone?: string;
  /** Default user. */
  scope?: ScheduleScope;
  /** The group, for scope group (only then). */
  group?: string;
  input?: Record<string, unknown>;
  /** Default true. */
  enabled?: boolean;
}

export interface SchedulerOptions {
  store: ScheduleStore;
  clock: Clock;
  /**
   * Checked at every fire, after the fire is recorded: true to start the run, false or a reason to skip
   * it (recorded as a `skipped` fire). Usually `(s) => authorizeScheduleFire(s, directory.user)`.
   */
  authorize(schedule: ScheduleRecord): boolean | string | Promise<boolean | string>;
  /**
   * Starts the run under `runId` (chosen when the fire was recorded) for the scheduled time, with
   * `scheduleRunIdentity` as its trigger user and `schedule.input` as its input.
   */
  startRun(schedule: ScheduleRecord, scheduledTime: number, runId: string): Promise<unknown>;
  /** Whether the durable host has this run: settles fires a stop interrupted. */
  runExists(runId: string): boolean | Promise<boolean>;
  /** At creation: why the workflow does not exist or the input does not match its `inputs`, or undefined. */
  checkWorkflow?(
    workflowId: string,
    input: Record<string, unknown>,
  ): string | undefined | Promise<string | undefined>;
  newId?: () => string;
  /** A store failure while firing (the fire is retried at the next start). Default: ignored. */
  onError?(error: unknown, scheduleId: string): void;
}

/** What one fire came to (Scheduler.fireOnce). */
export type FireOutcome =
  | { status: 'not-due'; current: ScheduleRecord | undefined }
  | { status: 'started'; runId: string }
  | { status: 'skipped' | 'failed'; runId: string; reason: string };

export class Scheduler {
  private readonly store: ScheduleStore;
  private readonly clock: Clock;
  private readonly options: SchedulerOptions;
  private readonly newId: () => string;
  private readonly timers = new Map<string, TimerHandle>();
  private running = false;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.store = options.store;
    this.clock = options.clock;
    this.newId = options.newId ?? randomUUID;
  }

  /**
   * Settles fires a previous stop interrupted, then arms every enabled schedule. A schedule whose next
   * time has passed fires once now; its following time is computed from now.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const fire of await this.store.unfinishedFires()) {
      const started = await this.options.runExists(fire.runId);
      await this.store.finishFire(
        fire.scheduleId,
        fire.scheduledTime,
        started ? 'started' : 'failed',
        started ? null : 'interrupted: the scheduler stopped before the run started',
      );
    }
    for (const schedule of await this.store.list({ enabled: true })) this.arm(schedule);
  }

  /** Clears every timer; fires in progress finish (see idle). */
  stop(): void {
    this.running = false;
    for (const handle of this.timers.values()) this.clock.clearTimer(handle);
    this.timers.clear();
  }

  /** Fires in progress (for VirtualClock.run). */
  pending(): number {
    return this.inflight;
  }

  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Validates and stores a schedule, computes its first time and arms it. Throws ScheduleError. */
  async create(request: CreateScheduleRequest, creator: Identity): Promise<ScheduleRecord> {
    if ((request.preset === undefined) === (request.cron === undefined))
      throw new ScheduleError(
        400,
        'schedule-needs-one',
        "a schedule needs exactly one of 'preset' or 'cron'",
      );
    if (request.preset !== undefined && !Object.hasOwn(SCHEDULE_PRESETS, request.preset))
      throw new ScheduleError(
        400,
        'unknown-preset',
        `unknown preset '${request.preset}': use ${Object.keys(SCHEDULE_PRESETS).join(', ')}`,
      );
    const cron = request.cron?.trim() ?? SCHEDULE_PRESETS[request.preset as SchedulePreset];
    const problem = cronProblem(cron);
    if (problem !== undefined)
      throw new ScheduleError(400, 'invalid-cron', `invalid cron expression '${cron}': ${problem}`);
    const timezone = request.timezone ?? 'UTC';
    const zoneProblem = timeZoneProblem(timezone);
    if (zoneProblem !== undefined) throw new ScheduleError(400, 'invalid-timezone', zoneProblem);
    const scope = request.scope ?? 'user';
    if (!['user', 'group', 'org'].includes(scope))
      throw new ScheduleError(400, 'invalid-scope', `unknown scope '${scope}': use user, group or org`);
    if (scope === 'group' && !request.group)
      throw new ScheduleError(400, 'group-scope-needs-group', "a group-scoped schedule needs 'group'");
    if (scope !== 'group' && request.group !== undefined)
      throw new ScheduleError(400, 'group-without-group-scope', "'group' is only used with scope: group");
    const scopeRef = scope === 'user' ? creator.email : scope === 'group' ? (request.group ?? null) : null;
    const refused = scheduleScopeProblem(scope, scopeRef, creator);
    if (refused !== undefined) throw new ScheduleError(403, 'schedule-forbidden', refused);
    const input = request.input ?? {};
    const inputProblem = await this.options.checkWorkflow?.(request.workflowId, input);
    if (inputProblem !== undefined) throw new ScheduleError(400, 'invalid-workflow-input', inputProblem);
    const now = this.clock.now();
    const enabled = request.enabled ?? true;
    const record: ScheduleRecord = {
      id: this.newId(),
      workflowId: request.workflowId,
      cron,
      timezone,
      scope,
      scopeRef,
      createdBy: creator.email,
      input,
      enabled,
      nextFireAt: enabled ? nextFireTime(cron, timezone, now) : null,
      lastFiredAt: null,
      createdAt: now,
    };
    await this.store.insert(record);
    this.arm(record);
    return record;
  }

  list(filter?: ScheduleFilter): ScheduleRecord[] | Promise<ScheduleRecord[]> {
    return this.store.list(filter);
  }

  get(id: string): ScheduleRecord | undefined | Promise<ScheduleRecord | undefined> {
    return this.store.get(id);
  }

  /** Enables (next time computed from now) or disables a schedule. Throws ScheduleError (404, 403). */
  async update(id: string, patch: { enabled: boolean }, actor: Identity): Promise<ScheduleRecord> {
    const schedule = await this.managed(id, actor);
    const nextFireAt = patch.enabled
      ? schedule.enabled && schedule.nextFireAt !== null
        ? schedule.nextFireAt
        : nextFireTime(schedule.cron, schedule.timezone, this.clock.now())
      : null;
    await this.store.setEnabled(id, patch.enabled, nextFireAt);
    const updated = { ...schedule, enabled: patch.enabled, nextFireAt };
    if (patch.enabled) this.arm(updated);
    else this.disarm(id);
    return updated;
  }

  /** Deletes a schedule and its fires. Throws ScheduleError (404, 403). */
  async delete(id: string, actor: Identity): Promise<void> {
    await this.managed(id, actor);
    this.disarm(id);
    await this.store.delete(id);
  }

  private async managed(id: string, actor: Identity): Promise<ScheduleRecord> {
    const schedule = await this.store.get(id);
    if (schedule === undefined) throw new ScheduleError(404, 'schedule-not-found', `no schedule '${id}'`);
    if (!canManageSchedule(schedule, actor))
      throw new ScheduleError(
        403,
        'schedule-forbidden',
        'only the creator or an admin may change a schedule',
      );
    return schedule;
  }

  private arm(schedule: ScheduleRecord): void {
    this.disarm(schedule.id);
    if (!this.running || !schedule.enabled || schedule.nextFireAt === null) return;
    const scheduledTime = schedule.nextFireAt;
    const handle = this.clock.setTimer(Math.max(scheduledTime, this.clock.now()), () => {
      if (this.timers.get(schedule.id) === handle) this.timers.delete(schedule.id);
      this.track(this.fire(schedule.id, scheduledTime));
    });
    this.timers.set(schedule.id, handle);
  }

  private disarm(id: string): void {
    const handle = this.timers.get(id);
    if (handle !== undefined) this.clock.clearTimer(handle);
    this.timers.delete(id);
  }

  private track(work: Promise<void>): void {
    this.inflight++;
    void work.finally(() => {
      this.inflight--;
      if (this.inflight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private async fire(id: string, scheduledTime: number): Promise<void> {
    try {
      const outcome = await this.fireOnce(id, scheduledTime, {
        claimed: (schedule) => this.arm(schedule),
      });
      // Not due: another scheduler fired it, or it changed: follow the stored time.
      if (outcome.status === 'not-due' && outcome.current?.enabled) this.arm(outcome.current);
    } catch (error) {
      this.options.onError?.(error, id);
    }
  }

  /**
   * One fire of schedule `id` at `scheduledTime`, wherever the time came from (a timer here, an
   * EventBridge Scheduler event on AWS): claims it in the store (exactly once for a scheduled time, so a
   * redelivered or concurrent fire starts nothing), authorizes it and starts its run, recording how it
   * ended. `not-due` when the schedule is gone, disabled, due at another time, or the fire was claimed
   * before; `current` is the schedule as stored then. `claimed` is told the schedule advanced to its next
   * time as soon as the claim holds. Store failures are thrown (the fire is not claimed, or stays claimed).
   *
   * `catchUp` (fires from a clock other than ours: EventBridge Scheduler): a stored time before
   * `scheduledTime` is a fire that never came (a delivery given up, or a time the other clock skips, as
   * AWS does in a daylight-saving gap where croner moves the time past it); that stored time fires now,
   * once, as a missed time does when the local scheduler starts — otherwise the schedule would wait for a
   * delivery that never comes. The fire is recorded under the stored time.
   */
  async fireOnce(
    id: string,
    scheduledTime: number,
    hooks: { claimed?(advanced: ScheduleRecord): void; catchUp?: boolean } = {},
  ): Promise<FireOutcome> {
    const schedule = await this.store.get(id);
    const stored = schedule?.nextFireAt ?? null;
    const late = hooks.catchUp === true && stored !== null && stored < scheduledTime;
    if (schedule === undefined || !schedule.enabled || (stored !== scheduledTime && !late))
      return { status: 'not-due', current: schedule };
    // The next time follows the time fired for, a late one included: never at or before it again.
    return this.claimAndStart(schedule, late ? (stored as number) : scheduledTime, scheduledTime, hooks);
  }

  /** The part of fireOnce after the schedule was found due at `scheduledTime`; next after `notBefore`. */
  private async claimAndStart(
    schedule: ScheduleRecord,
    scheduledTime: number,
    notBefore: number,
    hooks: { claimed?(advanced: ScheduleRecord): void },
  ): Promise<FireOutcome> {
    const id = schedule.id;
    const now = this.clock.now();
    // Never before the scheduled time itself, even if a timer fires a little early.
    const nextFireAt = nextFireTime(schedule.cron, schedule.timezone, Math.max(now, notBefore));
    const runId = this.newId();
    const claimed = await this.store.claimFire(
      { scheduleId: id, scheduledTime, firedAt: now, runId },
      nextFireAt,
    );
    if (!claimed) return { status: 'not-due', current: await this.store.get(id) };
    hooks.claimed?.({ ...schedule, nextFireAt, lastFiredAt: now });
    let verdict: boolean | string;
    try {
      verdict = await this.options.authorize(schedule);
    } catch (error) {
      verdict = `authorization failed: ${(error as Error).message}`;
    }
    if (verdict !== true) {
      const reason = verdict === false ? 'not authorized' : verdict;
      await this.store.finishFire(id, scheduledTime, 'skipped', reason);
      return { status: 'skipped', runId, reason };
    }
    try {
      await this.options.startRun(schedule, scheduledTime, runId);
    } catch (error) {
      const reason = (error as Error).message;
      await this.store.finishFire(id, scheduledTime, 'failed', reason);
      return { status: 'failed', runId, reason };
    }
    await this.store.finishFire(id, scheduledTime, 'started', null);
    return { status: 'started', runId };
  }
}
