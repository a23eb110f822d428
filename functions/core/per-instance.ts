// Values a serverless host builds once per instance (a Lambda container, a Cloud Run instance) and shares
// between its invocations: the ports, the clients, the composed app. Both cloud entrypoints use these.

/** Memoises `make`'s value on first use. */
export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/**
 * A value made once per instance on first call, e.g. the ports. A failed build is forgotten, so the next
 * invocation tries again rather than failing for the instance's lifetime.
 */
export function perInstance<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}
