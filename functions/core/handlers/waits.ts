// The two waits a GCP workflow asks a function to compute (Workflows has no jittered backoff and no
// template engine): the delay before a retry's next attempt (the shared backoffDelay, seeded by the attempt
// so a repeated request answers the same delay) and a delay's `until` resolved to the time it fires. In a
// parallel branch the workflow then waits on a callback instead of sleeping (a branch's sys.sleep would
// outlive its cancellation): `wakeAt` says when the host must post `{wake: true}` to the body's wakeUrl.
import { parseIsoTime } from '../../../translator/duration.js';
import { backoffDelay } from '../../../translator/ir.js';
import { resolveTemplate, type Template } from '../../../translator/template.js';
import { ERROR } from '../protocol.js';
import type {
  GcpBackoffBody,
  GcpBackoffResponse,
  GcpResolveTimeBody,
  GcpResolveTimeResponse,
} from '../wire.js';

/** A wait's answer, and when its wake is due (ms since epoch) when the body asked for one. */
export interface GcpWait<T> {
  response: T;
  wake?: { url: string; at: number };
}

/** The delay before the body's next attempt; a wake after it when the body carries a wakeUrl. */
export function gcpBackoff(body: GcpBackoffBody, now: number): GcpWait<GcpBackoffResponse> {
  const seed = `${body.runId}:${body.stepId}:${body.visit}:${body.attempt}`;
  const response: GcpBackoffResponse = { delayMs: backoffDelay(body.retry, body.attempt, seed) };
  if (body.wakeUrl === undefined) return { response };
  return { response, wake: { url: body.wakeUrl, at: now + response.delayMs } };
}

/** A delay's `until` resolved to the time it fires, or the step's error when it is not a time. */
export function resolveGcpTime(body: GcpResolveTimeBody, now: number): GcpWait<GcpResolveTimeResponse> {
  const value = resolveTemplate(JSON.parse(body.time) as Template, body.vars);
  const fireAt = typeof value === 'string' ? parseIsoTime(value) : undefined;
  if (fireAt === undefined) {
    return {
      response: {
        fireAt: null,
        error: {
          code: ERROR.invalidTime,
          message: `'until' resolved to ${JSON.stringify(value)}, not an ISO-8601 time with a zone`,
          step: body.stepId,
        },
      },
    };
  }
  const response: GcpResolveTimeResponse = { fireAt, waitMs: Math.max(0, fireAt - now) };
  if (body.wakeUrl === undefined) return { response };
  return { response, wake: { url: body.wakeUrl, at: now + response.waitMs } };
}
