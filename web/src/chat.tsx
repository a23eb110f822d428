// The chat box on every page: "start expense approval for 900 laptop" → POST /api/chat. Follow-up
// questions carry the server's context back with the answer; a started run links to its page.
import { type FormEvent, type RefObject, useEffect, useRef, useState } from 'react';
import { api } from './api';
import { Link } from './router';
import type { ChatReply } from './types';
import { problemText } from './ui';

interface Message {
  id: number;
  from: 'user' | 'stepgate';
  text: string;
  runId?: string;
  candidates?: Array<{ id: string; name: string }>;
  /** The message that got the "which one?", sent again with the chosen candidate. */
  asked?: string;
  error?: boolean;
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
      setMessages((m) => [
        ...m,
        {
          id: nextId++,
          from: 'stepgate',
          text: reply.reply,
          ...(reply.runId ? { runId: reply.runId } : {}),
          ...(reply.candidates?.length ? { candidates: reply.candidates, asked: trimmed } : {}),
        },
      ]);
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

  return { messages, list, text, setText, busy, context, setContext, send };
}

export function ChatBox() {
  const { open, setOpen, input, toggle } = useChatPanel();
  const { messages, list, text, setText, busy, context, setContext, send } = useConversation(input);

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
          <ChatMessages messages={messages} list={list} busy={busy} send={send} />
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
}) {
  const { messages, send } = props;
  return (
    <ol className="chat-messages" ref={props.list} aria-live="polite">
      {messages.length === 0 ? (
        <li className="chat-hint">
          Start a workflow in your own words, for example <em>start expense approval for 900 laptop</em>.
        </li>
      ) : null}
      {messages.map((m) => (
        <li key={m.id} className={`chat-message from-${m.from}${m.error ? ' chat-error' : ''}`}>
          <p>{m.text}</p>
          {m.runId ? (
            <Link to={`/runs/${encodeURIComponent(m.runId)}`} className="chat-link">
              Open the run
            </Link>
          ) : null}
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
