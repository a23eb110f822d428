// Clocks for the embedded engine: the system clock, and a virtual clock that jumps straight to the next
// timer whenever the engine is idle, so a 24-hour approval timeout passes in milliseconds in tests.
import type { Clock, TimerHandle } from '../../functions/core/ports.js';

const MAX_TIMEOUT = 2 ** 31 - 1;

interface SystemTimer extends TimerHandle {
  timeout: NodeJS.Timeout | undefined;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(at: number, fire: () => void): TimerHandle {
    const handle: SystemTimer = { at, timeout: undefined };
    // setTimeout overflows past ~24.8 days: wait in steps until the time has come.
    const wait = (): void => {
      const delay = at - Date.now();
      handle.timeout = setTimeout(
        delay > MAX_TIMEOUT ? wait : fire,
        Math.max(0, Math.min(delay, MAX_TIMEOUT)),
      );
    };
    wait();
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout((handle as SystemTimer).timeout);
  }
}

interface VirtualTimer extends TimerHandle {
  order: number;
  fire: () => void;
  cleared: boolean;
}

export class VirtualClock implements Clock {
  private time: number;
  private order = 0;
  private timers: VirtualTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(at: number, fire: () => void): TimerHandle {
    const timer: VirtualTimer = { at, order: this.order++, fire, cleared: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as VirtualTimer).cleared = true;
    this.timers = this.timers.filter((t) => t !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** A promise that resolves when virtual time has moved on by `ms` (a slow tool in a test, say). */
  sleep(ms: number): Promise<void> {
    this.sleepers++;
    return new Promise((resolve) =>
      this.setTimer(this.time + ms, () => {
        this.sleepers--;
        resolve();
      }),
    );
  }

  private sleepers = 0;

  /** Sleeps in progress: work that waits on this clock, not on the engine. */
  get sleeping(): number {
    return this.sleepers;
  }

  /**
   * Lets the engine settle (nothing pending but what sleeps on this clock), then moves time to the
   * earliest timer and fires it; repeats until no timer is left, `until` is reached or `maxTimers` fired.
   * Returns the number of timers fired.
   */
  async run(
    engine: { pending(): number },
    until = Number.POSITIVE_INFINITY,
    maxTimers = Number.POSITIVE_INFINITY,
  ): Promise<number> {
    let fired = 0;
    for (;;) {
      while (engine.pending() > this.sleepers) await new Promise((resolve) => setImmediate(resolve));
      const next = fired >= maxTimers ? undefined : this.earliest();
      if (next === undefined || next.at > until) {
        if (until !== Number.POSITIVE_INFINITY) this.time = Math.max(this.time, until);
        return fired;
      }
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      fired++;
      next.fire();
    }
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.timers) {
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.order < best.order))
        best = timer;
    }
    return best;
  }
}
