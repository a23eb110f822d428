// Values a serverless host builds once per instance (a Lambda container, a Cloud Run instance, an Azure
// Functions worker) and shares between its invocations: the ports, the clients, the composed app; and the
// deployment's setup, run once per instance before its first request (the GCP and Azure API functions).
import { errorMessage } from '../../translator/util.js';
import type { Clock, TimerHandle } from './ports.js';

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

/** How long after a failed setup the next request tries again. */
export const RETRY_MS = 60_000;

/**
 * `run` once per instance, awaited before a request is served: resolves when it is done, when it failed
 * (logged), or at once while a failure is younger than `retryMs`. Never rejects. Concurrent requests wait
 * on the same run; a failure never makes every request a 500: it is logged (the error names the secret or
 * the setting, never a secret's value) and tried again on a request at least `retryMs` after it, so a
 * persistent failure costs one attempt a minute per instance, not one per request.
 */
export function setupOnFirstRequest(
  run: () => Promise<unknown>,
  options: { clock: Pick<Clock, 'now'>; retryMs?: number; log?: (message: string) => void },
): () => Promise<void> {
  const log = options.log ?? ((message: string) => console.error(message));
  let done = false;
  let running: Promise<void> | undefined;
  let failedAt: number | undefined;
  return () => {
    if (done) return Promise.resolve();
    if (running !== undefined) return running;
    if (failedAt !== undefined && options.clock.now() - failedAt < (options.retryMs ?? RETRY_MS))
      return Promise.resolve();
    running = run().then(
      () => {
        done = true;
        running = undefined;
      },
      (error: unknown) => {
        failedAt = options.clock.now();
        running = undefined;
        log(`setup failed (tried again on a later request): ${errorMessage(error)}`);
      },
    );
    return running;
  };
}

/**
 * A serverless instance's clock: `now` only. Waits belong to the durable workflow (its timers, or a
 * scheduled task), never to a process that may be frozen or gone before they fire.
 */
export const INSTANCE_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(): TimerHandle {
    throw new Error(
      'a function instance keeps no timers: waits belong to the workflow (its durable timers or a scheduled task)',
    );
  },
  clearTimer(): void {},
};
