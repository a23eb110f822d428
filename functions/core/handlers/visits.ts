// A step's visit as a state machine's handler learns it. Step Functions does not count visits (that would
// cost a state transition per visit); a tool or notify payload carries `$$.State.EnteredTime`, the same
// across a visit's retries and different on the next visit, and the StepVisits port numbers those times.
import type { StepVisits } from '../ports.js';
import type { AslRunContext } from '../wire.js';

/** The visit of the state an ASL tool or notify payload comes from: 1 on its first, then 2, ... */
export function aslVisit(
  visits: StepVisits,
  payload: { ctx: AslRunContext; stepId: string; enteredTime: string },
): Promise<number> {
  return visits.visitAt(payload.ctx.runId, payload.stepId, payload.enteredTime);
}
