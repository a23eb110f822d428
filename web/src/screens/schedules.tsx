// Schedules: the user's recurring starts of a workflow. Create one from a preset or a custom cron with
// the next five times shown in the user's time zone (computed here with croner), in the scopes the
// user's role allows (user; group for leads and above; org for managers and above); pause, resume, delete.
import { Cron } from 'croner';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { cronProblem, timeZoneProblem } from '../../../translator/cron';
import { errorMessage } from '../../../translator/util';
import { ApiError, api } from '../api';
import { type Draft, draftToInput, fieldMessage, InputFields, initialDraft } from '../input-form';
import { Link } from '../router';
import { useMe } from '../session';
import type { Schedule, WorkflowDetail, WorkflowSummary } from '../types';
import {
  atLeast,
  canStartManually,
  Empty,
  formatTime,
  Loading,
  Page,
  ProblemNote,
  relativeTime,
  useApi,
} from '../ui';

const PRESETS = [
  { id: 'hourly', label: 'Every hour', cron: '0 * * * *' },
  { id: 'daily-9am', label: 'Every day at 9:00', cron: '0 9 * * *' },
  { id: 'weekdays', label: 'Weekdays at 9:00', cron: '0 9 * * 1-5' },
  { id: 'weekly-monday', label: 'Mondays at 9:00', cron: '0 9 * * 1' },
  { id: 'monthly', label: 'The 1st of every month at 9:00', cron: '0 9 1 * *' },
] as const;

const USER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** What is wrong with the cron field and the time zone, in the server's words (translator/cron.ts). */
export function scheduleProblems(cron: string, timezone: string): { cron?: string; timezone?: string } {
  const cronWrong = cronProblem(cron);
  const zoneWrong = timeZoneProblem(timezone);
  return {
    ...(cronWrong === undefined ? {} : { cron: cronWrong }),
    ...(zoneWrong === undefined ? {} : { timezone: zoneWrong }),
  };
}

/** The next `count` times of a valid `cron` read in a valid `timezone` (see scheduleProblems first). */
export function nextTimes(cron: string, timezone: string, count = 5): Date[] | string {
  try {
    return new Cron(cron, { timezone, paused: true, mode: '5-part' }).nextRuns(count);
  } catch (error) {
    return `These times cannot be computed: ${errorMessage(error)}`;
  }
}

function describeCron(cron: string): string {
  return PRESETS.find((p) => p.cron === cron)?.label ?? cron;
}

export function SchedulesScreen() {
  const schedules = useApi<Schedule[]>('/api/schedules');
  const workflows = useApi<WorkflowSummary[]>('/api/workflows');
  const [error, setError] = useState<unknown>();
  const names = new Map((workflows.data ?? []).map((w) => [w.id, w.name]));

  const toggle = async (s: Schedule) => {
    setError(undefined);
    try {
      await api(`/api/schedules/${encodeURIComponent(s.id)}`, {
        method: 'PATCH',
        body: { enabled: !s.enabled },
      });
      schedules.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (s: Schedule) => {
    if (
      !window.confirm(
        `Delete the schedule of ${names.get(s.workflowId) ?? s.workflowId} (${describeCron(s.cron)})?`,
      )
    )
      return;
    setError(undefined);
    try {
      await api(`/api/schedules/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      schedules.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Page title="Schedules" subtitle={`Workflows that start by themselves. Times are shown in ${USER_ZONE}.`}>
      <div className="two-columns">
        <section aria-labelledby="schedules-title">
          <h2 id="schedules-title">Your schedules</h2>
          <ProblemNote error={schedules.error ?? error} />
          {schedules.loading && !schedules.data ? <Loading /> : null}
          {schedules.data?.length === 0 ? (
            <Empty title="No schedules yet.">
              <p>Create one with the form: pick a workflow and when it should run.</p>
            </Empty>
          ) : null}
          <ul className="schedule-list">
            {schedules.data?.map((s) => (
              <li key={s.id} className={s.enabled ? 'card schedule' : 'card schedule paused'}>
                <div className="schedule-main">
                  <strong>{names.get(s.workflowId) ?? s.workflowId}</strong>
                  <span className="chip">
                    {s.scope === 'user'
                      ? 'just me'
                      : s.scope === 'group'
                        ? `group ${s.scopeRef}`
                        : 'organisation'}
                  </span>
                  {s.enabled ? null : <span className="chip chip-paused">paused</span>}
                </div>
                <p className="small">
                  {describeCron(s.cron)} <span className="muted">({s.timezone})</span>
                </p>
                <p className="small muted">
                  {s.enabled && s.nextFireAt
                    ? `Next: ${formatTime(s.nextFireAt)} (${relativeTime(s.nextFireAt)})`
                    : 'Not scheduled while paused'}
                  {s.lastFiredAt ? ` · last ran ${relativeTime(s.lastFiredAt)}` : ''}
                </p>
                <div className="row-actions">
                  <button type="button" className="button-small button-quiet" onClick={() => void toggle(s)}>
                    {s.enabled ? 'Pause' : 'Resume'}
                  </button>
                  <button
                    type="button"
                    className="button-small button-quiet danger-text"
                    onClick={() => void remove(s)}
                    aria-label={`Delete schedule of ${names.get(s.workflowId) ?? s.workflowId}`}
                  >
                    Delete
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="new-schedule-title" className="card form-card">
          <h2 id="new-schedule-title">New schedule</h2>
          <ScheduleForm workflows={workflows.data} onCreated={schedules.reload} />
        </section>
      </div>
    </Page>
  );
}

interface ScheduleValues {
  workflowId: string;
  mode: string;
  cron: string;
  timezone: string;
  scope: 'user' | 'group' | 'org';
  group: string;
  draft: Draft;
}

type FieldError = { field?: string; message: string } | undefined;

/** Creating the schedule: the input read from the draft, the server's verdict on a field or the whole. */
function useCreateSchedule(
  values: ScheduleValues,
  detail: WorkflowDetail | undefined,
  onCreated: () => void,
) {
  const [fieldError, setFieldError] = useState<FieldError>();
  const [failure, setFailure] = useState<unknown>();
  const [created, setCreated] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFieldError(undefined);
    setFailure(undefined);
    setCreated(false);
    const read = draftToInput(detail?.inputs, values.draft);
    if ('field' in read) {
      setFieldError(read);
      return;
    }
    setBusy(true);
    try {
      await api('/api/schedules', {
        body: {
          workflowId: values.workflowId,
          ...(values.mode === 'custom' ? { cron: values.cron } : { preset: values.mode }),
          timezone: values.timezone,
          scope: values.scope,
          ...(values.scope === 'group' ? { group: values.group } : {}),
          input: read.input,
        },
      });
      setCreated(true);
      onCreated();
    } catch (e) {
      if (e instanceof ApiError && e.field !== undefined)
        setFieldError({ field: e.field, message: fieldMessage(e.detail, e.field) });
      else setFailure(e);
    } finally {
      setBusy(false);
    }
  };

  return { submit, fieldError, failure, created, busy };
}

function ScheduleForm({
  workflows,
  onCreated,
}: {
  workflows: WorkflowSummary[] | undefined;
  onCreated: () => void;
}) {
  const me = useMe();
  const startable = useMemo(
    () => (workflows ?? []).filter((w) => canStartManually(w.triggers, me.role)),
    [workflows, me.role],
  );
  const [workflowId, setWorkflowId] = useState('');
  const [mode, setMode] = useState<string>('daily-9am');
  const [cron, setCron] = useState('0 9 * * 1-5');
  const [timezone, setTimezone] = useState(USER_ZONE);
  const [scope, setScope] = useState<'user' | 'group' | 'org'>('user');
  const [group, setGroup] = useState(me.groups[0] ?? '');
  const [draft, setDraft] = useState<Draft>({});
  const detail = useApi<WorkflowDetail>(
    workflowId ? `/api/workflows/${encodeURIComponent(workflowId)}` : null,
  );
  const { submit, fieldError, failure, created, busy } = useCreateSchedule(
    { workflowId, mode, cron, timezone, scope, group, draft },
    detail.data,
    onCreated,
  );

  useEffect(() => {
    if (workflowId === '' && startable[0]) setWorkflowId(startable[0].id);
  }, [startable, workflowId]);
  useEffect(() => {
    if (detail.data) setDraft(initialDraft(detail.data.inputs));
  }, [detail.data]);

  const expression = mode === 'custom' ? cron : (PRESETS.find((p) => p.id === mode)?.cron ?? '');
  const problems = scheduleProblems(expression, timezone);
  const upcoming =
    problems.cron !== undefined || problems.timezone !== undefined
      ? `Fix the ${problems.cron !== undefined ? 'cron expression' : 'time zone'} to see when it runs.`
      : nextTimes(expression, timezone);

  if (workflows === undefined) return <Loading />;
  if (startable.length === 0)
    return (
      <Empty title="No workflow can be scheduled.">
        <p>
          A schedule starts a workflow by hand on your behalf, so the workflow needs a manual trigger.{' '}
          <Link to="/workflows">See the workflows</Link>.
        </p>
      </Empty>
    );

  return (
    <form onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor="schedule-workflow">Workflow</label>
        <select id="schedule-workflow" value={workflowId} onChange={(e) => setWorkflowId(e.target.value)}>
          {startable.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <Blame name="workflowId" error={fieldError} />
      </div>
      <WhenFields
        mode={mode}
        onMode={setMode}
        cron={cron}
        onCron={setCron}
        problem={problems.cron}
        error={fieldError}
      />
      <TimezoneField
        timezone={timezone}
        onChange={setTimezone}
        problem={problems.timezone}
        error={fieldError}
      />
      <NextRuns upcoming={upcoming} />
      <ScopeFields scope={scope} onScope={setScope} group={group} onGroup={setGroup} error={fieldError} />
      {detail.data ? (
        <fieldset className="field">
          <legend>Input for every run</legend>
          <InputFields schema={detail.data.inputs} draft={draft} onChange={setDraft} error={fieldError} />
        </fieldset>
      ) : null}
      <ProblemNote error={failure} />
      {created ? (
        <p className="note note-success" role="status">
          Schedule created.
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy || typeof upcoming === 'string'}>
          {busy ? 'Creating…' : 'Create schedule'}
        </button>
      </div>
    </form>
  );
}

/** The server's message under the field it names, if it names `name`. */
function Blame({ name, error }: { name: string; error: FieldError }) {
  return error?.field === name ? (
    <small className="field-error" role="alert">
      {error.message}
    </small>
  ) : null;
}

/** What is wrong with a field as it is typed (the server would say the same), under the field. */
function LocalProblem({ id, problem }: { id: string; problem: string | undefined }) {
  return problem === undefined ? null : (
    <small id={id} className="field-error" data-testid={id}>
      {problem}
    </small>
  );
}

/** When the schedule fires: a preset, or a custom cron expression. */
function WhenFields(props: {
  mode: string;
  onMode: (mode: string) => void;
  cron: string;
  onCron: (cron: string) => void;
  /** What is wrong with the custom expression, as typed. */
  problem: string | undefined;
  error: FieldError;
}) {
  const { mode, onMode } = props;
  return (
    <>
      <fieldset className="field">
        <legend>When</legend>
        <div className="radio-list">
          {PRESETS.map((p) => (
            <label key={p.id} className="radio">
              <input
                type="radio"
                name="when"
                value={p.id}
                checked={mode === p.id}
                onChange={() => onMode(p.id)}
              />
              {p.label}
            </label>
          ))}
          <label className="radio">
            <input
              type="radio"
              name="when"
              value="custom"
              checked={mode === 'custom'}
              onChange={() => onMode('custom')}
            />
            Custom (cron)
          </label>
        </div>
        <Blame name="preset" error={props.error} />
      </fieldset>
      {mode === 'custom' ? (
        <div className="field">
          <label htmlFor="schedule-cron">Cron expression</label>
          <input
            id="schedule-cron"
            className="mono"
            value={props.cron}
            onChange={(e) => props.onCron(e.target.value)}
            aria-describedby={`schedule-cron-help${props.problem === undefined ? '' : ' schedule-cron-problem'}`}
            aria-invalid={props.problem !== undefined}
          />
          <small id="schedule-cron-help" className="help">
            Five fields: minute hour day-of-month month day-of-week, e.g. <code>30 8 * * 1-5</code>.
          </small>
          <LocalProblem id="schedule-cron-problem" problem={props.problem} />
          <Blame name="cron" error={props.error} />
        </div>
      ) : null}
    </>
  );
}

function TimezoneField(props: {
  timezone: string;
  onChange: (zone: string) => void;
  problem: string | undefined;
  error: FieldError;
}) {
  return (
    <div className="field">
      <label htmlFor="schedule-timezone">Time zone</label>
      <input
        id="schedule-timezone"
        value={props.timezone}
        onChange={(e) => props.onChange(e.target.value)}
        list="time-zones"
        aria-describedby={props.problem === undefined ? undefined : 'schedule-timezone-problem'}
        aria-invalid={props.problem !== undefined}
      />
      <LocalProblem id="schedule-timezone-problem" problem={props.problem} />
      <datalist id="time-zones">
        {[
          'UTC',
          USER_ZONE,
          'Europe/London',
          'Europe/Berlin',
          'America/New_York',
          'America/Los_Angeles',
          'Asia/Tokyo',
        ]
          .filter((z, i, all) => all.indexOf(z) === i)
          .map((z) => (
            <option key={z} value={z} />
          ))}
      </datalist>
      <Blame name="timezone" error={props.error} />
    </div>
  );
}

/** The next five times the schedule fires, in the user's time zone, or why the expression is wrong. */
function NextRuns({ upcoming }: { upcoming: Date[] | string }) {
  const zoneFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
  return (
    <div className="next-times" aria-live="polite">
      <h3>Next five runs</h3>
      {typeof upcoming === 'string' ? (
        <p className="muted">{upcoming}</p>
      ) : (
        <ol>
          {upcoming.map((d) => (
            <li key={d.getTime()}>{zoneFormat.format(d)}</li>
          ))}
        </ol>
      )}
      <p className="muted small">Shown in your time zone ({USER_ZONE}).</p>
    </div>
  );
}

/** Whom the runs run as: the user, a group they lead (leads and above), or the organisation (managers). */
function ScopeFields(props: {
  scope: ScheduleValues['scope'];
  onScope: (scope: ScheduleValues['scope']) => void;
  group: string;
  onGroup: (group: string) => void;
  error: FieldError;
}) {
  const me = useMe();
  return (
    <>
      <div className="field">
        <label htmlFor="schedule-scope">Runs as</label>
        <select
          id="schedule-scope"
          value={props.scope}
          onChange={(e) => props.onScope(e.target.value as ScheduleValues['scope'])}
        >
          <option value="user">Me ({me.email})</option>
          {atLeast(me.role, 'lead') && me.groups.length > 0 ? (
            <option value="group">A group I lead</option>
          ) : null}
          {atLeast(me.role, 'manager') ? <option value="org">The organisation</option> : null}
        </select>
        <Blame name="scope" error={props.error} />
      </div>
      {props.scope === 'group' ? (
        <div className="field">
          <label htmlFor="schedule-group">Group</label>
          <select id="schedule-group" value={props.group} onChange={(e) => props.onGroup(e.target.value)}>
            {me.groups.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
          <Blame name="group" error={props.error} />
        </div>
      ) : null}
    </>
  );
}
