// Hashing worker for md5-pool.ts. Plain JavaScript on purpose: a worker does not inherit
// a loader registered with tsx's register() (bin/swiftgate.js), so a .ts file would not load.
// Each 'update' brings a slot (an ArrayBuffer, transferred, not copied) and sends it back
// once hashed, so the main thread can fill it again.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const jobs = new Map(); // job id -> MD5 Hash

parentPort.on('message', (m) => {
  switch (m.op) {
    case 'start':
      jobs.set(m.id, createHash('md5'));
      break;
    case 'update': {
      jobs.get(m.id)?.update(new Uint8Array(m.slot, 0, m.length));
      parentPort.postMessage({ op: 'ack', id: m.id, seq: m.seq, slot: m.slot }, [m.slot]);
      break;
    }
    case 'end': {
      const hash = jobs.get(m.id);
      jobs.delete(m.id);
      parentPort.postMessage({ op: 'digest', id: m.id, hex: hash ? hash.digest('hex') : null });
      break;
    }
    case 'abort':
      jobs.delete(m.id);
      break;
    case 'stats':
      parentPort.postMessage({ op: 'stats', seq: m.seq, jobs: jobs.size });
      break;
    case 'crash': // tests only: an uncaught error, as a bug or an OOM would cause
      throw new Error('md5 worker crash requested');
  }
});
