// The development inbox: the mail the local SMTP inbox received for the user (approval requests with
// their links, notifications), newest first, links clickable.
import { Fragment, useEffect, useState } from 'react';
import type { InboxMessage } from '../types';
import { Empty, formatTime, Loading, Page, ProblemNote, relativeTime, useApi } from '../ui';

const URL_PATTERN = /(https?:\/\/[^\s<>"']+)/g;

/** Text with its http(s) addresses as links (the rest stays text: no HTML from mail is rendered). */
function Linkified({ text }: { text: string }) {
  const parts = text.split(URL_PATTERN);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed text.
          <a key={i} href={part}>
            {part}
          </a>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed text.
          <Fragment key={i}>{part}</Fragment>
        ),
      )}
    </>
  );
}

const REFRESH_MS = 10_000;

export function InboxScreen() {
  const inbox = useApi<InboxMessage[]>('/api/inbox');
  const [open, setOpen] = useState<string | null>(null);
  const { reload } = inbox;

  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);
  const shown = inbox.data ?? [];
  const current = shown.find((m) => m.id === open) ?? shown[0];

  return (
    <Page
      title="Inbox"
      subtitle="Mail the development mail server caught for you. Nothing here left this machine."
      actions={
        <button type="button" className="button-quiet" onClick={inbox.reload}>
          Refresh
        </button>
      }
    >
      <ProblemNote error={inbox.error} />
      {inbox.loading && !inbox.data ? <Loading /> : null}
      {inbox.data?.length === 0 ? (
        <Empty title="No mail yet.">
          <p>Approval requests and notifications sent by email land here.</p>
        </Empty>
      ) : null}
      {current ? (
        <div className="mail">
          <ul className="mail-list" aria-label="Messages">
            {shown.map((m) => (
              <li key={m.id}>
                <button
                  type="button"
                  className={m.id === current.id ? 'mail-item active' : 'mail-item'}
                  aria-current={m.id === current.id ? 'true' : undefined}
                  onClick={() => setOpen(m.id)}
                >
                  <span className="mail-subject">{m.subject || '(no subject)'}</span>
                  <span className="mail-snippet">
                    {m.text.split('\n').find((line) => line.trim() !== '') ?? ''}
                  </span>
                  <span className="muted small">
                    {m.rcptTo.join(', ')} · {relativeTime(m.receivedAt)}
                  </span>
                </button>
              </li>
            ))}
          </ul>
          <article className="card mail-body" aria-labelledby="mail-subject">
            <h2 id="mail-subject">{current.subject || '(no subject)'}</h2>
            <p className="muted small">
              From {current.mailFrom ?? '(bounce)'} to {current.rcptTo.join(', ')} ·{' '}
              {formatTime(current.receivedAt)}
            </p>
            <div className="mail-text">
              <Linkified text={current.text} />
            </div>
          </article>
        </div>
      ) : null}
    </Page>
  );
}
