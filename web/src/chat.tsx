// The chat box on every page: "start expense approval for 900 laptop" → POST /api/chat. Follow-up
// questions carry the server's context back with the answer; a started run links to its page. A start
// that can reach a write tool comes back as a 'confirm': the inputs understood are shown with "Start it"
// and "Cancel"; only "Start it" sends the answer's token to POST /api/chat/confirm (the server refuses a
// start without it). Help, "my runs" and "my approvals" answers list their runs with links.
import { type FormEvent, type RefObject, useEffect, useRef, useState } from 'react';
import { api } from './api';
import { Link } from './router';
import type { ChatReply, RunOutcome } from './types';
import { outcomeLabel, problemText } from './ui';

interface Message {
  id: number;
  from: 'user' | 'stepgate';
  text: string;
  runId?: string;
  candidates?: Array<{ id: string; name: string }>;
  /** The message that got the "which one?", sent again with the chosen candidate. */
  asked?: string;
  error?: boolean;
  /** A start waiting for the user's yes: the inputs understood and the token that starts it. */
  confirm?: { token: string; input: Record<string, unknown>; state: 'pending' | 'busy' | 'done' };
  runs?: Array<{ id: string; name: string; status: string; outcome?: RunOutcome }>;
  approvals?: Array<{ runId: string; name: string; message: string }>;
}

/** The message showing a chat answer. */
function replyMessage(reply: ChatReply, asked: string): Message {
  return {
    id: nextId++,
    from: 'stepgate',
    text: reply.reply,
    ...(reply.runId ? { runId: reply.runId } : {}),
    ...(reply.candidates?.length ? { candidates: reply.candidates, asked } : {}),
    ...(reply.action === 'confirm' && reply.confirmation
      ? { confirm: { token: reply.confirmation.token, input: reply.input ?? {}, state: 'pending' as const } }
      : {}),
    ...(reply.runs?.length ? { runs: reply.runs } : {}),
    ...(reply.approvals?.length ? { approvals: reply.approvals } : {}),
  };
}

let nextId = 1;

/** The panel open or closed: opening focuses the input, Escape closes it and focuses the toggle again. */
function useChatPanel() {
  const [open, setOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    input.current?.focus();
    // Escape closes the chat and gives the focus back to its button (a modal dialog keeps its own Escape).
    const close = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || document.querySelector('dialog[open]') !== null) return;
      setOpen(false);
      toggle.current?.focus();
    };
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [open]);
  return { open, setOpen, input, toggle };
}

/** The messages so far, the text being typed and the server's context for a follow-up answer. */
function useConversation(input: RefObject<HTMLInputElement | null>) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [context, setContext] = useState<ChatReply['context']>();
  const list = useRef<HTMLOListElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever a message arrives.
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [messages]);

  /** `workflowId`: the candidate picked after a "which one?", asked with the same message again. */
  const send = async (message: string, workflowId?: string) => {
    const trimmed = message.trim();
    if (trimmed === '' || busy) return;
    setMessages((m) => [...m, { id: nextId++, from: 'user', text: trimmed }]);
    setText('');
    setBusy(true);
    try {
      const reply = await api<ChatReply>('/api/chat', {
        body: {
          message: trimmed,
          ...(workflowId !== undefined ? { workflowId } : context ? { context } : {}),
        },
      });
      setContext(reply.action === 'ask' ? reply.context : undefined);
      setMessages((m) => [...m, replyMessage(reply, trimmed)]);
    } catch (error) {
      const problem = problemText(error);
      setContext(undefined);
      setMessages((m) => [
        ...m,
        { id: nextId++, from: 'stepgate', text: problem.detail || problem.title, error: true },
      ]);
    } finally {
      setBusy(false);
      input.current?.focus();
    }
  };

  /** The answer to a 'confirm': "Start it" sends its token, "Cancel" starts nothing. */
  const decide = async (messageId: number, start: boolean) => {
    const message = messages.find((m) => m.id === messageId);
    if (message?.confirm === undefined || message.confirm.state !== 'pending') return;
    const token = message.confirm.token;
    const mark = (state: 'busy' | 'done' | 'pending') =>
      setMessages((m) =>
        m.map((x) => (x.id === messageId && x.confirm ? { ...x, confirm: { ...x.confirm, state } } : x)),
      );
    if (!start) {
      mark('done');
      setMessages((m) => [...m, { id: nextId++, from: 'stepgate', text: 'Cancelled: nothing was started.' }]);
      return;
    }
    mark('busy');
    try {
      const reply = await api<ChatReply>('/api/chat/confirm', { body: { token } });
      mark('done');
      setMessages((m) => [...m, replyMessage(reply, '')]);
    } catch (error) {
      const problem = problemText(error);
      // Refused for good (expired, already started, changed): asking again is the way on.
      mark('done');
      setMessages((m) => [
        ...m,
        { id: nextId++, from: 'stepgate', text: problem.detail || problem.title, error: true },
      ]);
    }
  };

  return { messages, list, text, setText, busy, context, setContext, send, decide };
}

export function ChatBox() {
  const { open, setOpen, input, toggle } = useChatPanel();
  const { messages, list, text, setText, busy, context, setContext, send, decide } = useConversation(input);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void send(text);
  };

  return (
    <aside className={open ? 'chat open' : 'chat'} aria-label="Chat">
      {open ? (
        <div className="chat-panel" id="chat-panel">
          <header className="chat-header">
            <h2>Ask Stepgate</h2>
            <button
              type="button"
              className="icon-button"
              aria-label="Close chat"
              onClick={() => setOpen(false)}
            >
              ×
            </button>
          </header>
          <ChatMessages messages={messages} list={list} busy={busy} send={send} decide={decide} />
          {context ? (
            <p className="chat-context small">
              Answering for {context.workflowId}.{' '}
              <button type="button" className="link-button" onClick={() => setContext(undefined)}>
                Start over
              </button>
            </p>
          ) : null}
          <form className="chat-form" onSubmit={submit}>
            <label className="visually-hidden" htmlFor="chat-input">
              Message
            </label>
            <input
              id="chat-input"
              ref={input}
              value={text}
              maxLength={1000}
              autoComplete="off"
              placeholder={context ? 'Your answer…' : 'What do you want to start?'}
              onChange={(e) => setText(e.target.value)}
            />
            <button type="submit" className="button-primary" disabled={busy || text.trim() === ''}>
              Send
            </button>
          </form>
        </div>
      ) : null}
      <button
        type="button"
        ref={toggle}
        className="chat-toggle"
        aria-expanded={open}
        aria-controls="chat-panel"
        onClick={() => setOpen((o) => !o)}
      >
        {open ? 'Hide chat' : 'Ask Stepgate'}
      </button>
    </aside>
  );
}

/** The conversation: a hint before the first message, links to started runs, candidates to pick from. */
function ChatMessages(props: {
  messages: Message[];
  list: RefObject<HTMLOListElement | null>;
  busy: boolean;
  send: (message: string, workflowId?: string) => Promise<void>;
  decide: (messageId: number, start: boolean) => Promise<void>;
}) {
  const { messages, send, decide } = props;
  return (
    <ol className="chat-messages" ref={props.list} aria-live="polite">
      {messages.length === 0 ? (
        <li className="chat-hint">
          Start a workflow in your own words, for example <em>start expense approval for 900 laptop</em>, or
          ask <em>what can you do?</em>
        </li>
      ) : null}
      {messages.map((m) => (
        <li key={m.id} className={`chat-message from-${m.from}${m.error ? ' chat-error' : ''}`}>
          <p>{m.text}</p>
          {m.confirm ? <ChatConfirm id={m.id} confirm={m.confirm} decide={decide} /> : null}
          {m.runId ? (
            <Link to={`/runs/${encodeURIComponent(m.runId)}`} className="chat-link">
              Open the run
            </Link>
          ) : null}
          <ChatRunList message={m} />
          {m.candidates ? (
            <div className="chat-candidates">
              {m.candidates.map((c) => (
                <button
                  type="button"
                  key={c.id}
                  className="chip-button"
                  onClick={() => void send(m.asked ?? `start ${c.name}`, c.id)}
                >
                  {c.name}
                </button>
              ))}
            </div>
          ) : null}
        </li>
      ))}
      {props.busy ? <li className="chat-message from-stepgate chat-typing">…</li> : null}
    </ol>
  );
}

/** A start waiting for the user's yes: the inputs understood, then "Start it" or "Cancel". */
function ChatConfirm(props: {
  id: number;
  confirm: NonNullable<Message['confirm']>;
  decide: (messageId: number, start: boolean) => Promise<void>;
}) {
  const { id, confirm, decide } = props;
  const entries = Object.entries(confirm.input);
  return (
    <div className="chat-confirm">
      {entries.length > 0 ? (
        <dl className="chat-inputs" aria-label="Inputs understood">
          {entries.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {confirm.state === 'done' ? null : (
        <div className="chat-candidates">
          <button
            type="button"
            className="button-primary button-small"
            disabled={confirm.state === 'busy'}
            onClick={() => void decide(id, true)}
          >
            Start it
          </button>
          <button
            type="button"
            className="button-small"
            disabled={confirm.state === 'busy'}
            onClick={() => void decide(id, false)}
          >
            Cancel
          </button>
        </div>
      )}
    </div>
  );
}

/** The runs of a "my runs" answer, or the approvals of a "my approvals" one, each linking to its run. */
function ChatRunList({ message }: { message: Message }) {
  const items = [
    ...(message.runs ?? []).map((r) => ({
      runId: r.id,
      label: `${r.name}: ${r.status.replace('_', ' ')}${r.outcome ? `, ${outcomeLabel(r.outcome)}` : ''}`,
    })),
    ...(message.approvals ?? []).map((a) => ({ runId: a.runId, label: a.name })),
  ];
  if (items.length === 0) return null;
  return (
    <ul className="chat-runs">
      {items.map((item) => (
        <li key={item.runId}>
          <Link to={`/runs/${encodeURIComponent(item.runId)}`}>{item.label}</Link>
        </li>
      ))}
      {message.approvals?.length ? (
        <li>
          <Link to="/approvals">All your approvals</Link>
        </li>
      ) : null}
    </ul>
  );
}
