// What every ASL state renderer shares, the way the CDK's base `State` does (renderNextEnd,
// renderRetryCatch): the graph scope a state is rendered in, its transition, its Retry and Catch lists,
// and the auxiliary states a caught failure goes through (merge the cause, fail the run or count the
// branch for its quorum).
import { ERROR_CODE } from '../../error-codes.js';
import { type Edge, END, type IrParallel, type IrRetry } from '../../ir.js';
import { TranslateError } from '../errors.js';

export const ASL_PLACEHOLDERS = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  toolCall: '${ToolCallFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  notify: '${NotifyFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  approvalRequest: '${ApprovalRequestFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  quorum: '${QuorumFunctionArn}',
} as const;

/** Error names on the wire between the handlers and the state machine (from the one catalog). */
export const ASL_ERROR = {
  retryable: ERROR_CODE.retryable,
  fatal: ERROR_CODE.fatal,
  rejected: ERROR_CODE.rejected,
  approvalTimeout: ERROR_CODE.approvalTimeout,
  noApprovers: ERROR_CODE.noApprovers,
  timeout: ERROR_CODE.timeout,
  quorumReached: ERROR_CODE.quorumReached,
} as const;

/** Used where the IR has no timeout: ASL's largest TimeoutSeconds, stated explicitly. */
export const NO_TIMEOUT_SECONDS = 99_999_999;

/** The longest a Lambda function runs (900 s): no Task that waits for one's answer waits longer. */
export const LAMBDA_MAX_SECONDS = 900;

/**
 * The Lambda service's own transient errors (the invoke failed, not the handler), retried on every Task
 * that invokes a Lambda as its first Retry rule, with the policy the Step Functions docs recommend
 * ("Handle Lambda service exceptions": 2 s, 6 attempts, doubling); throttling too, with full jitter so
 * that throttled runs do not come back together.
 */
export const LAMBDA_SERVICE_RETRY: State = {
  ErrorEquals: [
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type State = { [key: string]: Json };
/** States by name, in output order. */
export type States = Record<string, State>;

/** The graph (the run's, or one parallel branch's) a state is rendered in. */
export interface Scope {
  /**
   * `vars`, then two overlays per enclosing parallel branch: `wN` (its step results, committed at the
   * join) and `eN` (its `error`, which belongs to the branch and is dropped at the join).
   */
  layers: string[];
  /** For each overlay layer (index as in `layers`), the variables its branch may write. */
  layerKeys: Array<ReadonlySet<string>>;
  /** Branch nesting depth: 0 at the top, N in a branch whose overlays are `wN` and `eN`. */
  depth: number;
  /** In a require-N branch: the state unhandled failures go to (so the branch is counted, not fatal). */
  failTo: string | null;
  /** Where END leads: END itself, or in a require-N branch the counter that ends it. */
  endTarget: string;
  /** The Succeed state a Choice uses to end this graph. */
  succeedName: string;
  /** Set once a Choice ends the graph: the Succeed state is then rendered. */
  needsDone: boolean;
}

/** A `require: N` Parallel that ends early through the quorum counter (N below the branch count). */
export type QuorumParallel = IrParallel & { require: number };

/** `require: N` below the branch count ends early through the quorum counter; N = all is a plain Parallel. */
export function usesQuorum(node: IrParallel): node is QuorumParallel {
  return node.require !== 'all' && node.require < node.branches.length;
}

/** A duration in whole seconds, or the TranslateError ASL's second-granular fields call for. */
export function seconds(ms: number, source: string, what: string): number {
  if (ms % 1000 !== 0 || ms < 1000) {
    throw new TranslateError(
      'aws.sub-second-duration',
      `Step Functions counts ${what} in whole seconds; ${ms} ms is not a whole number of seconds`,
      source,
      'aws',
    );
  }
  return ms / 1000;
}

/** `TimeoutSeconds` of a state whose IR timeout may be absent. */
export function timeoutSeconds(ms: number | null, source: string): number {
  return ms === null ? NO_TIMEOUT_SECONDS : seconds(ms, source, 'timeouts');
}

/**
 * `TimeoutSeconds` of a Task that waits for a Lambda's answer: its IR timeout, capped at what a Lambda
 * can run. A step without a timeout keeps none (NO_TIMEOUT_SECONDS): on every target it waits until the
 * run's own timeout, and on AWS the function's timeout (at most 900 s) ends the invocation anyway.
 */
export function lambdaTimeoutSeconds(ms: number | null, source: string): number {
  return ms === null ? NO_TIMEOUT_SECONDS : Math.min(seconds(ms, source, 'timeouts'), LAMBDA_MAX_SECONDS);
}

/** `Next` or `End` for a non-Choice state. */
export function renderNextEnd(to: Edge, scope: Scope): State {
  const target = to === END ? scope.endTarget : to;
  return target === END ? { End: true } : { Next: target };
}

/** Where a Choice (or a graph's start) leads: it cannot end, so END becomes the Succeed state (or the branch counter). */
export function choiceTarget(to: Edge, scope: Scope): string {
  if (to !== END) return to;
  if (scope.endTarget !== END) return scope.endTarget;
  scope.needsDone = true;
  return scope.succeedName;
}

/** `Retry` and `Catch`, each left out when empty. */
export function renderRetryCatch(retry: Json[], catchers: Json[]): State {
  return {
    ...(retry.length > 0 ? { Retry: retry } : {}),
    ...(catchers.length > 0 ? { Catch: catchers } : {}),
  };
}

/**
 * The Retry rules of a Task that invokes a Lambda: the Lambda service's transient errors first, then the
 * step's own retry (none for an IR retry of one attempt). Step Functions counts each rule's retries
 * apart, so a service retry spends none of the step's attempts and leaves its backoff as it was.
 */
export function lambdaRetrier(retry: IrRetry | null, source: string): Json[] {
  return [LAMBDA_SERVICE_RETRY, ...(retry === null ? [] : retrier(retry, source))];
}

/** The Retry rules of a step: retryable handler errors and per-attempt timeouts, never a fatal error. */
export function retrier(retry: IrRetry, source: string): Json[] {
  if (retry.maxAttempts <= 1) return [];
  const rule: State = {
    ErrorEquals: [ASL_ERROR.retryable, 'States.Timeout'],
    IntervalSeconds: seconds(retry.intervalMs, source, 'retry intervals'),
    MaxAttempts: retry.maxAttempts - 1,
    BackoffRate: retry.backoffRate,
  };
  if (retry.maxDelayMs !== null) rule.MaxDelaySeconds = seconds(retry.maxDelayMs, source, 'retry delays');
  rule.JitterStrategy = retry.jitter === 'full' ? 'FULL' : 'NONE';
  return [rule];
}

/** A Catch rule: every caught error lands in `$.caught` (`{ Error, Cause }`). */
export function catchTo(errors: string[], next: string): Json {
  return { ErrorEquals: errors, ResultPath: '$.caught', Next: next };
}

/** Catchers for a failure nobody handles: in a require-N branch it is counted, elsewhere it fails the run. */
export function unhandled(scope: Scope): Json[] {
  return scope.failTo === null ? [] : [catchTo(['States.ALL'], scope.failTo)];
}

/** A Pass state that writes a static result (a timeout's error, a timed-out approval) and moves on. */
export function passResult(result: Json, resultPath: string, next: Edge, scope: Scope): State {
  return { Type: 'Pass', Result: result, ResultPath: resultPath, ...renderNextEnd(next, scope) };
}

/**
 * The state a failure nobody handles goes to: a Fail state at the top, the branch's counter in a
 * require-N branch. With a `cause` the error is raised here; without, it is the one caught in `$.caught`.
 */
export function failOrCount(scope: Scope, error: string, cause?: string): State {
  if (cause === undefined) {
    return scope.failTo === null
      ? { Type: 'Fail', Error: error, CausePath: '$.caught.Cause' }
      : { Type: 'Pass', Next: scope.failTo };
  }
  return scope.failTo === null
    ? { Type: 'Fail', Error: error, Cause: cause }
    : { Type: 'Pass', Result: { Error: error, Cause: cause }, ResultPath: '$.caught', Next: scope.failTo };
}

/** Where the current branch writes step results (`vars` at the top). */
export function writeLayer(scope: Scope): string {
  return scope.depth === 0 ? 'vars' : `w${scope.depth}`;
}

/** Where the current branch writes a handled `error` (`vars` at the top). */
export function errorLayer(scope: Scope): string {
  return scope.depth === 0 ? 'vars' : `e${scope.depth}`;
}

/** The run's variables as a branch sees them: `vars` with the overlays of the enclosing branches merged over it. */
export function varsExpression(scope: Scope): string {
  let merged = '$.vars';
  for (const layer of scope.layers.slice(1)) merged = `States.JsonMerge(${merged}, $.${layer}, false)`;
  return merged;
}

/** Parameters that rebuild the state document, one layer replaced. */
export function documentWith(scope: Scope, layer: string, expression: string): State {
  const doc: State = { 'ctx.$': '$.ctx' };
  for (const name of scope.layers) doc[`${name}.$`] = name === layer ? expression : `$.${name}`;
  return doc;
}

/**
 * The Pass state that merges a caught cause (`$.caught.Cause`, JSON of variables) into the variables: an
 * error's cause (`{"error": ...}`) into the error layer, step results (a rejection's, a quorum's) into
 * the write layer.
 */
export function mergeCaught(scope: Scope, next: Edge, cause: 'error' | 'results'): State {
  const layer = cause === 'error' ? errorLayer(scope) : writeLayer(scope);
  return {
    Type: 'Pass',
    Parameters: documentWith(
      scope,
      layer,
      `States.JsonMerge($.${layer}, States.StringToJson($.caught.Cause), false)`,
    ),
    ...renderNextEnd(next, scope),
  };
}
