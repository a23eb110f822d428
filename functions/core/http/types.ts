// The types the HTTP API's modules share: the Hono environment every route sees (the workflow store they
// read and write is a port, in functions/core/ports.ts). Kept apart from app.ts so the route modules need
// nothing of it: app.ts mounts them, they never import it back (test/architecture.test.ts checks there is
// no cycle).
import type { Principal } from '../auth.js';

/** The Hono environment of the API's routes: the caller, as the authentication middleware set it. */
export type Env = { Variables: { principal: Principal } };
