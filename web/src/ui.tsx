// Small pieces every screen shares: loading API data, showing a problem, empty states, status badges,
// times and durations, roles, a modal dialog, and outside text with its inline markdown (InlineMarkdown; the
// parsing, plainText for places that take a string, is inline-markdown.ts).
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api } from './api';
import { inlineMarkdown } from './inline-markdown';
import type { Role, RunOutcome } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing yet) and keeps the answer; `reload` asks again without clearing it. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(path !== null);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `round` is how reload asks again.
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setLoading(true);
    api<T>(path, { signal: controller.signal })
      .then((value) => {
        setData(value);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [path, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data, error, loading, reload };
}

/** What went wrong, as the server's problem body says it. */
export function problemText(error: unknown): { title: string; detail: string; field?: string } {
  if (error instanceof ApiError)
    return {
      title: error.title || `Error ${error.status}`,
      detail: error.detail,
      ...(error.field ? { field: error.field } : {}),
    };
  if (error instanceof Error) return { title: 'Something went wrong', detail: error.message };
  return { title: 'Something went wrong', detail: String(error) };
}

export function ProblemNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const { title, detail } = problemText(error);
  return (
    <div className="problem" role="alert">
      <strong>{title}</strong>
      {detail && detail !== title ? <span> — {detail}</span> : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" aria-live="polite">
      {what}…
    </p>
  );
}

const STATUS_LABELS: Record<string, string> = { timed_out: 'timed out' };

const OUTCOME_LABELS: Record<RunOutcome['kind'], string> = {
  approved: 'approved',
  rejected: 'rejected',
  'timed-out': 'approval timed out',
  'error-handled': 'error handled',
};

/** How a run's outcome reads: approved, rejected, approval timed out, error handled. */
export function outcomeLabel(outcome: RunOutcome): string {
  return OUTCOME_LABELS[outcome.kind] ?? outcome.kind;
}

/** What decided a completed run's path, beside its status: approved, rejected, timed out, error handled. */
export function OutcomeBadge({ outcome }: { outcome: RunOutcome }) {
  const label = outcomeLabel(outcome);
  const how = `${label} at ${outcome.step}${outcome.by ? ` by ${outcome.by}` : ''}`;
  return (
    <span className={`path-outcome path-outcome-${outcome.kind}`} title={how} data-testid="run-outcome">
      {label}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status.replace(/[^a-z_]/g, '')}`}>{STATUS_LABELS[status] ?? status}</span>
  );
}

export function Page({
  title,
  actions,
  children,
  subtitle,
}: {
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  useEffect(() => {
    document.title = `${title} · Stepgate`;
  }, [title]);
  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>{title}</h1>
          {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function formatTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? dateTime.format(ms) : '—';
}

export function formatClock(ms: number | null | undefined): string {
  return typeof ms === 'number' ? timeOnly.format(ms) : '—';
}

export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function relativeTime(ms: number | null | undefined, now = Date.now()): string {
  if (typeof ms !== 'number') return '—';
  const diff = ms - now;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 60_000) return rtf.format(Math.round(diff / 1000), 'second');
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), 'minute');
  if (abs < 86_400_000) return rtf.format(Math.round(diff / 3_600_000), 'hour');
  return rtf.format(Math.round(diff / 86_400_000), 'day');
}

const RANK: Role[] = ['viewer', 'member', 'lead', 'manager', 'director', 'admin'];

export function atLeast(role: string | undefined, minimum: Role): boolean {
  return RANK.indexOf((role ?? 'viewer') as Role) >= RANK.indexOf(minimum);
}

/** Whether `role` may start a workflow with these triggers by hand (its manual trigger's minRole). */
export function canStartManually(
  triggers: Array<{ type: string; [key: string]: unknown }>,
  role: string,
): boolean {
  const manual = triggers.find((t) => t.type === 'manual');
  if (manual === undefined) return false;
  return atLeast(role, (typeof manual.minRole === 'string' ? manual.minRole : 'member') as Role);
}

/** A run's or schedule's trigger kind, whichever name the server uses for it. */
export function triggerKind(trigger: { kind?: string; type?: string }): string {
  return trigger.kind ?? trigger.type ?? 'manual';
}

/** A value as short, readable text for tables and timelines. */
export function preview(value: unknown, max = 160): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A modal dialog (the platform's <dialog>: focus trap, Escape closes it). */
export function Dialog({
  open,
  title,
  onClose,
  children,
  wide,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) {
      dialog.showModal();
      // Start at the first field rather than the close button.
      dialog.querySelector<HTMLElement>('input, select, textarea')?.focus();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className={wide ? 'dialog dialog-wide' : 'dialog'} aria-label={title} onClose={onClose}>
      {open ? (
        <>
          <header className="dialog-header">
            <h2>{title}</h2>
            <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

export { inlineMarkdown, plainText } from './inline-markdown';

/**
 * Untrusted text rendered with its inline markdown (code, bold, italics, http(s) links opening in a new
 * tab), as React elements: no HTML from the text is ever interpreted.
 */
export function InlineMarkdown({ text }: { text: string }) {
  return (
    <>
      {inlineMarkdown(text).map((piece, i) => {
        const key = `${i}-${piece.kind}`;
        switch (piece.kind) {
          case 'code':
            return <code key={key}>{piece.text}</code>;
          case 'strong':
            return <strong key={key}>{piece.text}</strong>;
          case 'em':
            return <em key={key}>{piece.text}</em>;
          case 'link':
            return (
              <a key={key} href={piece.href} target="_blank" rel="noopener noreferrer">
                {piece.text}
              </a>
            );
          default:
            return <span key={key}>{piece.text}</span>;
        }
      })}
    </>
  );
}
