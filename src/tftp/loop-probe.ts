/**
 * How late the event loop runs, for the TFTP server's admission check (server.ts,
 * `maxLoopDelayMs`): a 20 ms timer's lateness, the larger of its last two ticks, or the time
 * since its last tick while a turn is still running.
 *
 * It ticks only while its answer may be asked for (`wanted`). The check counts only once
 * `minTransfers` transfers run in the event loop, and with the native pump (the default)
 * none do. A probe that ticked all the time cost an idle seed ~7 ms of CPU a second on this
 * project's VM (8 ms/s with TFTP on, 1 with it off), and a lock-step transfer over a 2 ms
 * round trip paid ~14 ms of it in its 1.7 s (docs/benchmarks.md, TFTP). The server calls
 * `keep()` at each request. A probe started then has seen no lateness yet, and says 0 until
 * it has.
 */
export const LOOP_PROBE_MS = 20;

export interface LoopProbe {
  /** Starts ticking when `wanted()` (the check may ask soon); a no-op when it already ticks. */
  keep(): void;
  /** Milliseconds the loop ran late lately; 0 when not ticking. */
  delay(): number;
  running(): boolean;
  stop(): void;
}

export function loopProbe(now: () => number, wanted: () => boolean): LoopProbe {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let previous = 0;
  let latest = 0;
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
  };
  const tick = (): void => {
    const t = now();
    previous = latest;
    latest = Math.max(0, t - last - LOOP_PROBE_MS);
    last = t;
    if (!wanted()) stop();
  };
  const keep = (): void => {
    if (timer || !wanted()) return;
    last = now();
    previous = latest = 0;
    timer = setInterval(tick, LOOP_PROBE_MS);
    timer.unref();
  };
  keep();
  return {
    keep,
    // a turn still running delays the probe too: the time since its last tick counts
    delay: () => (timer ? Math.max(latest, previous, now() - last - LOOP_PROBE_MS) : 0),
    running: () => timer !== undefined,
    stop,
  };
}
