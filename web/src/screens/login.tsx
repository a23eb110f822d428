// The login page: email and password against POST /api/login; the app then returns to where the user was.
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api';
import type { Me } from '../types';
import { problemText } from '../ui';

export function LoginScreen({ onLogin }: { onLogin: (me: Me) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    document.title = 'Log in · Stepgate';
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<{ user: Me; csrf: string }>('/api/login', { body: { email, password } });
      onLogin({ ...answer.user, csrf: answer.csrf });
    } catch (e) {
      const problem = problemText(e);
      setError(problem.detail || problem.title);
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand login-brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span className="brand-name">Stepgate</span>
        </div>
        <h1 id="login-title">Log in</h1>
        <p className="muted">Workflows with approvals, run by the people who own them.</p>
        <label className="field">
          <span>Email</span>
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error ? (
          <p className="problem" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
