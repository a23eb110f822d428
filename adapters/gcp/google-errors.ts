// The canonical status of a Google API error, whichever transport the client used: gRPC errors carry the
// numeric code (5, 6, 9…), the REST transport (`fallback`) the HTTP status with the JSON error body as the
// message (`{"error": {"status": "FAILED_PRECONDITION", …}}`). Adapters branch on the name, never on a number.
const GRPC: Record<number, string> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  9: 'FAILED_PRECONDITION',
  16: 'UNAUTHENTICATED',
};
const HTTP: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
};

/** `NOT_FOUND`, `ALREADY_EXISTS`, `FAILED_PRECONDITION`…; undefined when the error names none. */
export function googleStatus(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message === 'string') {
    const named = /"status"\s*:\s*"([A-Z_]+)"/.exec(message)?.[1];
    if (named !== undefined) return named;
  }
  if (typeof code === 'number') {
    if (code >= 100) return HTTP[code];
    return GRPC[code];
  }
  return undefined;
}
