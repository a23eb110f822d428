// The dashboard's shell: who is logged in, the header with its navigation, the page for the current
// path, and the chat box on every page. Not logged in (or the session ended): the login page, then back.
import { lazy, type ReactNode, Suspense, useCallback, useEffect, useState } from 'react';
import { ApiError, api, setCsrf, setUnauthorizedHandler } from './api';
import { ChatBox } from './chat';
import { Link, matchPath, navigate, useLocation } from './router';
import { ApprovalsScreen } from './screens/approvals';
import { ConnectionsScreen } from './screens/connections';
import { InboxScreen } from './screens/inbox';
import { LoginScreen } from './screens/login';
import { RunScreen } from './screens/run';
import { RunsScreen } from './screens/runs';
import { SchedulesScreen } from './screens/schedules';
import { TemplatesScreen } from './screens/templates';
import { WorkflowsScreen } from './screens/workflows';
import { APPROVALS_CHANGED, MeContext } from './session';
import type { Me, PendingApproval } from './types';
import { atLeast, Empty, Loading, Page, ProblemNote } from './ui';

const WorkflowScreen = lazy(() => import('./screens/workflow').then((m) => ({ default: m.WorkflowScreen })));

const NAV: Array<{ to: string; label: string }> = [
  { to: '/workflows', label: 'Workflows' },
  { to: '/runs', label: 'Runs' },
  { to: '/approvals', label: 'Approvals' },
  { to: '/schedules', label: 'Schedules' },
  { to: '/connections', label: 'Connections' },
  { to: '/inbox', label: 'Inbox' },
];

export function App() {
  const location = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [startError, setStartError] = useState<unknown>();

  const toLogin = useCallback(() => {
    setMe(null);
    setCsrf(undefined);
    const { pathname, search } = window.location;
    if (pathname !== '/login')
      navigate(`/login?next=${encodeURIComponent(pathname + search)}`, { replace: true });
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(toLogin);
    api<Me>('/api/me')
      .then((identity) => {
        setCsrf(identity.csrf);
        setMe(identity);
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) toLogin();
        else setStartError(error);
      });
    return () => setUnauthorizedHandler(undefined);
  }, [toLogin]);

  // Logged in on the login page (just now, or by following a link): on to where the user was going.
  const onLoginPage = location.pathname === '/login';
  const next = location.search.get('next');
  useEffect(() => {
    if (me && onLoginPage)
      navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/workflows', { replace: true });
  }, [me, onLoginPage, next]);

  if (startError !== undefined)
    return (
      <main className="standalone">
        <h1>Stepgate</h1>
        <ProblemNote error={startError} />
      </main>
    );
  if (me === undefined) return <Loading what="Starting" />;
  if (me === null)
    return (
      <LoginScreen
        onLogin={(identity) => {
          setCsrf(identity.csrf);
          setMe(identity);
        }}
      />
    );
  if (onLoginPage) return <Loading />;

  const logout = async () => {
    await api('/api/logout', { method: 'POST' }).catch(() => undefined);
    setCsrf(undefined);
    setMe(null);
    navigate('/login', { replace: true });
  };

  return (
    <MeContext.Provider value={me}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/workflows" className="brand" aria-label="Stepgate home">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span className="brand-name">Stepgate</span>
        </Link>
        <nav aria-label="Main" className="main-nav">
          {NAV.map((item) => (
            <NavLink key={item.to} to={item.to} pathname={location.pathname}>
              {item.label}
              {item.to === '/approvals' ? <PendingCount /> : null}
            </NavLink>
          ))}
        </nav>
        <div className="user-menu">
          <span className="user-name" title={`${me.email} (${me.role})`}>
            {me.name ?? me.email}
            <span className="user-role">{me.role}</span>
          </span>
          <button type="button" className="button-quiet" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" className="app-main">
        <Suspense fallback={<Loading />}>{route(location.pathname, me)}</Suspense>
      </main>
      <ChatBox />
    </MeContext.Provider>
  );
}

function NavLink({ to, pathname, children }: { to: string; pathname: string; children: ReactNode }) {
  const active =
    pathname === to || pathname.startsWith(`${to}/`) || (to === '/workflows' && pathname === '/templates');
  return (
    <Link
      to={to}
      className={active ? 'nav-link active' : 'nav-link'}
      aria-current={active ? 'page' : undefined}
    >
      {children}
    </Link>
  );
}

/** The number of approvals waiting for the user, refreshed every half minute and after every decision. */
function PendingCount() {
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<PendingApproval[]>('/api/approvals')
        .then((list) => {
          if (live) setCount(list.length);
        })
        .catch(() => undefined);
    load();
    const timer = window.setInterval(load, 30_000);
    window.addEventListener(APPROVALS_CHANGED, load);
    return () => {
      live = false;
      window.clearInterval(timer);
      window.removeEventListener(APPROVALS_CHANGED, load);
    };
  }, []);
  if (count === 0) return null;
  return (
    <span className="count">
      <span className="visually-hidden">, </span>
      {count}
      <span className="visually-hidden"> pending</span>
    </span>
  );
}

/** Pages whose API needs the role member (viewers only read workflows and templates). */
const MEMBER_PAGES = new Set(['/runs', '/schedules', '/connections']);

function route(pathname: string, me: Me): ReactNode {
  const section = `/${pathname.split('/')[1] ?? ''}`;
  if (MEMBER_PAGES.has(section) && !atLeast(me.role, 'member'))
    return (
      <Page title="Not available">
        <Empty title="This page needs the role member or above.">
          <p>
            You are a {me.role}; you can look at the <Link to="/workflows">workflows</Link>.
          </p>
        </Empty>
      </Page>
    );
  if (pathname === '/' || pathname === '/workflows') return <WorkflowsScreen />;
  if (pathname === '/workflows/new') return <WorkflowScreen id={null} />;
  const workflow = matchPath('/workflows/:id', pathname);
  if (workflow?.id) return <WorkflowScreen key={workflow.id} id={workflow.id} />;
  if (pathname === '/templates') return <TemplatesScreen />;
  if (pathname === '/runs') return <RunsScreen />;
  const run = matchPath('/runs/:id', pathname);
  if (run?.id) return <RunScreen key={run.id} id={run.id} />;
  if (pathname === '/approvals') return <ApprovalsScreen />;
  if (pathname === '/schedules') return <SchedulesScreen />;
  if (pathname === '/connections') return <ConnectionsScreen />;
  if (pathname === '/inbox') return <InboxScreen />;
  return (
    <Page title="Not found">
      <Empty title={`Nothing lives at ${pathname}.`}>
        <Link to="/workflows">Go to the workflows</Link>
      </Empty>
    </Page>
  );
}
