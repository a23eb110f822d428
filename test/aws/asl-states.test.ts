// The shared pieces every ASL state renderer stands on (translator/emit/aws/state.ts): where an END
// leads, the Retry and Catch lists, and where a failure nobody handles goes, at the top of the run and
// inside a require-N branch, where it must be counted instead of failing the run.
import { describe, expect, it } from 'vitest';
import {
  ASL_ERROR,
  failOrCount,
  renderNextEnd,
  renderRetryCatch,
  retrier,
  type Scope,
  unhandled,
} from '../../translator/emit/aws/state.js';
import { END } from '../../translator/ir.js';

const top: Scope = {
  layers: ['vars'],
  layerKeys: [new Set()],
  depth: 0,
  failTo: null,
  endTarget: END,
  succeedName: '(end)',
  needsDone: false,
};

const quorumBranch: Scope = {
  layers: ['vars', 'w1', 'e1'],
  layerKeys: [new Set(), new Set(['result']), new Set()],
  depth: 1,
  failTo: 'fanout.0.failed',
  endTarget: 'fanout.0.done',
  succeedName: 'fanout.0.end',
  needsDone: false,
};

describe('renderNextEnd', () => {
  it('ends the state machine at the top of the run', () => {
    expect(renderNextEnd(END, top)).toEqual({ End: true });
  });

  it("goes to the branch's counter at the end of a require-N branch", () => {
    expect(renderNextEnd(END, quorumBranch)).toEqual({ Next: 'fanout.0.done' });
  });

  it('goes to the next step otherwise', () => {
    expect(renderNextEnd('notify', quorumBranch)).toEqual({ Next: 'notify' });
  });
});

describe('renderRetryCatch', () => {
  it('leaves out an empty Retry and an empty Catch', () => {
    expect(renderRetryCatch([], [])).toEqual({});
  });

  it('renders Retry before Catch', () => {
    const rendered = renderRetryCatch([{ ErrorEquals: ['a'] }], [{ ErrorEquals: ['b'] }]);
    expect(Object.keys(rendered)).toEqual(['Retry', 'Catch']);
  });

  it('retries only retryable errors and timeouts, MaxAttempts not counting the first attempt', () => {
    const retry = {
      maxAttempts: 3,
      intervalMs: 2000,
      backoffRate: 2,
      maxDelayMs: null,
      jitter: 'none' as const,
    };
    expect(retrier(retry, '/steps/0')).toEqual([
      {
        ErrorEquals: [ASL_ERROR.retryable, 'States.Timeout'],
        IntervalSeconds: 2,
        MaxAttempts: 2,
        BackoffRate: 2,
        JitterStrategy: 'NONE',
      },
    ]);
  });
});

describe('a failure nobody handles', () => {
  it('fails the run at the top: no catcher, a Fail state with the error and its cause', () => {
    expect(unhandled(top)).toEqual([]);
    expect(failOrCount(top, ASL_ERROR.timeout, '{"error":{}}')).toEqual({
      Type: 'Fail',
      Error: ASL_ERROR.timeout,
      Cause: '{"error":{}}',
    });
  });

  it("re-raises a caught error's cause at the top", () => {
    expect(failOrCount(top, ASL_ERROR.rejected)).toEqual({
      Type: 'Fail',
      Error: ASL_ERROR.rejected,
      CausePath: '$.caught.Cause',
    });
  });

  it("is counted in a require-N branch: caught into $.caught and sent to the branch's failed counter", () => {
    expect(unhandled(quorumBranch)).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'fanout.0.failed' },
    ]);
    expect(failOrCount(quorumBranch, ASL_ERROR.timeout, '{"error":{}}')).toEqual({
      Type: 'Pass',
      Result: { Error: ASL_ERROR.timeout, Cause: '{"error":{}}' },
      ResultPath: '$.caught',
      Next: 'fanout.0.failed',
    });
    expect(failOrCount(quorumBranch, ASL_ERROR.rejected)).toEqual({ Type: 'Pass', Next: 'fanout.0.failed' });
  });
});
