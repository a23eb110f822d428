// Who is logged in, for every screen: the identity from GET /api/me (or the login answer).
import { createContext, useContext } from 'react';
import type { Me } from './types';

export const MeContext = createContext<Me | null>(null);

/** The logged-in user; screens render only inside the logged-in shell, so there always is one. */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (me === null) throw new Error('useMe outside the logged-in app');
  return me;
}

/** Screens announce changes other parts of the shell show (the pending approvals count). */
export const APPROVALS_CHANGED = 'stepgate:approvals-changed';

export function approvalsChanged(): void {
  window.dispatchEvent(new Event(APPROVALS_CHANGED));
}
