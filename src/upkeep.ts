/**
 * Background upkeep in the process that owns the store: reap expired objects (so
 * X-Delete-At takes effect on time), delete garbage blobs, purge expired tokens.
 */
import type { Core } from './core.ts';

export function startUpkeep(core: Core, log: (msg: string) => void): () => void {
  let busy = false;
  const guard = (name: string, fn: () => Promise<unknown>) => async () => {
    if (busy) return;
    busy = true;
    try {
      await fn();
    } catch (err) {
      log(`upkeep ${name} failed: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  const timers = [
    setInterval(guard('expiry', () => core.namespace.reapExpired()), 1000),
    setInterval(guard('garbage', () => core.namespace.collectGarbage()), 30_000),
    setInterval(guard('tokens', () => core.tokens.purgeExpired()), 3_600_000),
  ];
  for (const t of timers) t.unref();
  return () => {
    for (const t of timers) clearInterval(t);
  };
}
