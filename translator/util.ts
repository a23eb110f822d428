// Small helpers every layer used to copy: the exhaustiveness check of a switch and the message of a
// caught value. They live in translator/, the lowest layer, so every other layer can import them.

/** Ends a switch that has handled every case; `what` names the kind of value in the error. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** The message of anything thrown: an Error's message, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
