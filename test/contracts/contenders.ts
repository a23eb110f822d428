// What every contract suite is given by an adapter's test: adapters over ONE fresh store, each with a
// connection (client) of its own, so that racers in a suite reach the store the way two processes would.
import { onTestFinished } from 'vitest';

export interface Contenders<T> {
  /** At least two adapters over the same fresh store, each with its own connection. */
  connections: T[];
  close(): void | Promise<void>;
}

/** Makes the store for one test and closes it when the test ends. */
export async function fresh<T>(make: () => Contenders<T> | Promise<Contenders<T>>): Promise<[T, T, ...T[]]> {
  const contenders = await make();
  onTestFinished(() => contenders.close());
  const [first, second, ...more] = contenders.connections;
  if (first === undefined || second === undefined)
    throw new Error('a contract suite needs two connections or more');
  return [first, second, ...more];
}

/** The connection the `i`-th of many racers uses: spread over all of them. */
export function connectionFor<T>(connections: T[], i: number): T {
  const connection = connections[i % connections.length];
  if (connection === undefined) throw new Error('no connection');
  return connection;
}

/** Runs `n` contenders at once (each call started before any is awaited) and gathers how each ended. */
export function race<R>(
  n: number,
  contender: (i: number) => R | Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  return Promise.allSettled(Array.from({ length: n }, async (_, i) => contender(i)));
}
