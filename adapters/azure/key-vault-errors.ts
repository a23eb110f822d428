// What the Azure adapters say when a Key Vault call fails (the vault's wrap and unwrap, the platform
// secrets' reads): Key Vault's HTTP status and error code for a refusal (403 Forbidden: a role assignment is
// missing; 404 KeyNotFound, SecretNotFound), or the message of the client's own checks (a key disabled,
// expired, or not allowed to wrap; the vault unreachable), which name the key and dates only. Never the
// service's message, and never the error itself: its request holds what was sent (a key being wrapped).

/** A short, safe description of a failed Key Vault call (see the header). */
export function keyVaultFailure(error: unknown): string {
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === 'number')
    return `Key Vault answered ${statusCode}${typeof code === 'string' ? ` ${code}` : ''}`;
  return error instanceof Error ? error.message : 'error';
}
