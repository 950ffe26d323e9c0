/** Messages between the metadata host (the process that owns LevelDB) and its clients. */
import type { ChangeEvent } from '../core/change-feed.ts';

export type ClientMessage =
  | { t: 'call'; id: number; method: string; args: unknown[] }
  | { t: 'iter-open'; id: number; method: string; args: unknown[] }
  | { t: 'iter-next'; id: number; iter: number; max: number }
  | { t: 'iter-close'; iter: number }
  | { t: 'publish'; id: number; events: ChangeEvent[] }
  /** A namespace mutation (src/core/mutations.ts) and its publication, in one round trip. */
  | { t: 'mutate'; id: number; name: string; args: unknown[] }
  | { t: 'ack'; eid: number };

export type HostMessage =
  | { t: 'result'; id: number; value: unknown }
  | { t: 'error'; id: number; code: string; message: string }
  | { t: 'events'; eid: number; events: ChangeEvent[] };
