/**
 * Swift X-Timestamps: "1700000000.12345". Issued strictly increasing within a process
 * so two writes in the same 10 µs still order correctly (last writer wins by timestamp).
 */
let last = 0;

export function nowTimestamp(): string {
  let t = Math.floor(Date.now() * 100); // units of 10 µs
  if (t <= last) t = last + 1;
  last = t;
  return formatTimestamp(t / 100_000);
}

export function formatTimestamp(seconds: number): string {
  return seconds.toFixed(5).padStart(16, '0');
}

export function timestampToSeconds(ts: string): number {
  return Number.parseFloat(ts);
}

/** Parses a client-supplied X-Timestamp; undefined when malformed. */
export function parseTimestamp(value: string): string | undefined {
  if (!/^\d+(\.\d+)?$/.test(value)) return undefined;
  const n = Number.parseFloat(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1e10) return undefined;
  return formatTimestamp(n);
}

export function timestampToDate(ts: string): Date {
  return new Date(Math.floor(timestampToSeconds(ts)) * 1000);
}
