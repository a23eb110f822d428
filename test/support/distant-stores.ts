// Stores a network round trip away, for the Azure replay harness (testing/run-azure.ts): the default SQLite
// stores, each call answered only after a hop before and after it (a turn of the event loop or a millisecond
// of real time, at random) — as a Table or Blob Storage call is. A harness that lets the virtual
// clock move, or the case end, while a store call is in flight observes something else than the embedded
// engine; with these stores, the conformance suites catch it. Only the timing changes, never an answer.
import {
  type AzureCaseStores,
  type AzureCaseStoresFactory,
  sqliteCaseStores,
} from '../../testing/run-azure.js';

/**
 * A turn of the event loop, or (one time in four) a millisecond: calls answer in another order than they
 * were made, and a suite of hundreds of cases stays quick.
 */
function hop(): Promise<void> {
  return new Promise((resolve) => (Math.random() < 0.25 ? setTimeout(resolve, 1) : setImmediate(resolve)));
}

/**
 * Every method of `target` answered after a hop before and a hop after the call; `made` hears each call
 * and `answered` each answer (or failure).
 */
export function distant<T extends object>(
  target: T,
  made: () => void = () => {},
  answered: () => void = () => {},
): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        made();
        try {
          await hop();
          const answer: unknown = await (value as (...a: unknown[]) => unknown).apply(object, args);
          await hop();
          return answer;
        } finally {
          answered();
        }
      };
    },
  });
}

export interface DistantStores {
  /** The factory to give runCaseAzure. */
  stores: AzureCaseStoresFactory;
  /** How many calls each store was made so far (so a suite knows its cases went through them). */
  calls: { approvals: number; results: number; audit: number };
  /** Calls made and not answered yet. */
  inFlight(): number;
}

/** The stores `make` gives (SQLite by default), every call a hop away. */
export function distantStores(make: AzureCaseStoresFactory = sqliteCaseStores): DistantStores {
  const calls = { approvals: 0, results: 0, audit: 0 };
  let inFlight = 0;
  const counted = (store: keyof typeof calls) => () => {
    calls[store]++;
    inFlight++;
  };
  const done = () => void inFlight--;
  const stores = async (): Promise<AzureCaseStores> => {
    const near = await make();
    return {
      approvals: (recordAudit) => distant(near.approvals(recordAudit), counted('approvals'), done),
      results: distant(near.results, counted('results'), done),
      audit: distant(near.audit, counted('audit'), done),
      close: () => near.close(),
    };
  };
  return { stores, calls, inFlight: () => inFlight };
}
