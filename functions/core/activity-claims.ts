// Exactly-once work on an at-least-once queue: a host whose activities are delivered by a queue that may
// deliver a message twice (Cloud Tasks) claims each attempt (runId, stepId, visit, attempt) before calling a
// tool or sending a notification, keeps the answer with the claim, and answers a redelivery from it. A
// delivery that finds another one's claim still held retries later; one that finds a claim whose holder
// vanished mid-work (its lease ran out, nothing recorded) takes it over but must not call the tool again —
// the tool may have acted — so it answers the attempt as interrupted and the step's retry policy decides.
import type { JsonValue } from '../../translator/template.js';

/** What a claim found. */
export type ActivityClaim =
  /** The caller holds the claim until `until`: do the work (`takenOver`: a vanished holder's, see above). */
  | { status: 'claimed'; takenOver: boolean; until: number }
  /** Another delivery holds it until `until`: try again later. */
  | { status: 'held'; until: number }
  /** The work is done: its answer, and whether that answer has reached the run. */
  | { status: 'done'; answer: JsonValue; delivered: boolean };

export interface ActivityClaims {
  /**
   * Claims `key` for `leaseMs` from `now`. Exactly once: of concurrent claims of a new key, one is
   * `claimed`; the others see `held` (or `done`). A held claim whose lease ran out is taken over by exactly
   * one later claim.
   */
  claim(key: string, now: number, leaseMs: number): Promise<ActivityClaim>;
  /**
   * Records the answer of a claimed key; the first answer recorded stays (a second finish changes nothing)
   * and is returned.
   */
  finish(key: string, answer: JsonValue): Promise<JsonValue>;
  /** Marks the recorded answer as delivered to the run. */
  delivered(key: string): Promise<void>;
}
