// The errors the Azure run records and the Azure DurableHost share: a small module of its own so that the run
// store (adapters/azure/run-store.ts) and the host (durable-host.ts) import them without importing each other.

/** A start refused because a run with that id exists already (DurableHost: one start per run id). */
export class RunExistsError extends Error {
  override name = 'RunExistsError';
}
