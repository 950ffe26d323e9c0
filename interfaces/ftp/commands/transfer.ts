/** Data connections and transfers: PASV/EPSV/PORT/EPRT, REST, RETR, STOR/APPE, LIST/NLST/MLSD, ABOR. */
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isIPv4 } from 'node:net';
import { errors } from '../../../src/core/errors.ts';
import { sendStream } from '../../../src/core/send-stream.ts';
import { type FsEntry, listLine, mlsxLine } from '../listing.ts';
import { formatPath } from '../paths.ts';
import { FtpReply, reply } from '../replies.ts';
import type { CommandSpec, Session } from '../session.ts';

const LIST_BATCH_BYTES = 64 * 1024;

function need(arg: string, verb: string): string {
  if (!arg) throw reply.syntax(`${verb} needs a path.`);
  return arg;
}

// ----------------------------------------------------------- data connection

async function pasv(s: Session): Promise<void> {
  const address = s.ctx.pasvAddress ?? s.localAddress;
  if (!isIPv4(address)) throw reply.noDataConnection('PASV needs IPv4; use EPSV.');
  const port = await s.data.passive();
  s.send(227, `Entering Passive Mode (${address.split('.').join(',')},${port >> 8},${port & 255}).`);
}

async function epsv(s: Session, arg: string): Promise<void> {
  if (arg.trim().toUpperCase() === 'ALL') {
    s.send(200, 'EPSV ALL ok.');
    return;
  }
  const port = await s.data.passive();
  s.send(229, `Entering Extended Passive Mode (|||${port}|).`);
}

function port(s: Session, arg: string): void {
  const n = arg.trim().split(',').map(Number);
  if (n.length !== 6 || n.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw reply.syntax('PORT h1,h2,h3,h4,p1,p2');
  const [a, b, c, d, p1 = 0, p2 = 0] = n;
  s.data.active(`${a}.${b}.${c}.${d}`, p1 * 256 + p2);
  s.send(200, 'PORT command successful.');
}

function eprt(s: Session, arg: string): void {
  // RFC 2428: EPRT <d><proto><d><addr><d><port><d>
  const delim = arg.trim()[0];
  const parts = delim ? arg.trim().split(delim) : [];
  const [, proto, host = '', portText = ''] = parts;
  if (parts.length !== 5 || (proto !== '1' && proto !== '2') || !/^\d+$/.test(portText)) throw reply.syntax('EPRT |proto|address|port|');
  s.data.active(host, Number(portText));
  s.send(200, 'EPRT command successful.');
}

function rest(s: Session, arg: string): void {
  const text = arg.trim();
  if (!/^\d{1,15}$/.test(text)) throw reply.syntax('REST takes a byte offset.');
  s.restOffset = Number(text);
  s.send(350, `Restarting at ${s.restOffset}. Send RETR, STOR or APPE.`);
}

async function abor(s: Session): Promise<void> {
  const t = s.transfer;
  if (!t) {
    s.data.reset();
    s.send(225, 'No transfer to abort.');
    return;
  }
  t.abort();
  await t.done; // the transfer answers 426 first
  s.send(226, 'Abort successful.');
}

// ----------------------------------------------------------------- transfers

async function retr(s: Session, arg: string): Promise<void> {
  const fs = s.requireFs();
  const path = s.resolve(need(arg, 'RETR'));
  const offset = s.takeRestOffset();
  const obj = await fs.file(path);
  if (offset > obj.size) throw new FtpReply(554, `REST ${offset} is beyond the end of the file (${obj.size} bytes).`);
  const stream = await fs.openRead(obj, offset);
  try {
    await s.withData((data, signal, progress) => sendStream(stream, data, { signal, onProgress: progress }));
  } finally {
    stream.destroy();
  }
}

async function store(s: Session, arg: string, append: boolean): Promise<void> {
  const fs = s.requireFs();
  const path = s.resolve(need(arg, append ? 'APPE' : 'STOR'));
  const rest = s.takeRestOffset();
  const plan = await fs.planWrite(path, append ? 'append' : rest);
  await s.withData(async (data, signal, progress) => {
    const prefix = await fs.resumePrefix(plan);
    const source = Readable.from(uploadChunks(prefix, data, progress, () => s.uploadStillWanted()), { objectMode: false });
    await fs.write(plan, source, signal);
  });
}

/**
 * The bytes of an upload: the kept prefix of a resumed file, then the data connection.
 * A clean end of the data stream counts only if the control connection is still there
 * (a killed client closes both); anything else fails the write, so nothing is committed.
 */
async function* uploadChunks(
  prefix: Readable | undefined,
  data: Duplex,
  progress: (n: number) => void,
  stillWanted: () => Promise<boolean>,
): AsyncGenerator<Buffer> {
  if (prefix) for await (const chunk of prefix) yield chunk as Buffer;
  for await (const chunk of data) {
    const b = chunk as Buffer;
    progress(b.length);
    yield b;
  }
  if (!(await stillWanted())) throw errors.uploadAborted('the control connection closed before the upload was confirmed');
}

type ListFormat = 'list' | 'nlst' | 'mlsd';

async function list(s: Session, arg: string, format: ListFormat): Promise<void> {
  const fs = s.requireFs();
  // Clients send `ls` flags (LIST -la); a path never starts with '-' in what they send.
  const target = format === 'mlsd' ? arg : arg.replace(/^(-\S*\s*)+/, '');
  const path = s.resolve(target);
  if (format === 'mlsd') {
    const entry = await fs.stat(path);
    if (!entry) throw reply.noSuchFile(formatPath(path));
    if (entry.kind !== 'dir') throw new FtpReply(501, `${formatPath(path)}: MLSD needs a directory; use MLST.`);
  }
  const entries = fs.list(path);
  // Fetch the first page before 150, so a missing or forbidden path is a plain 550.
  const first = await entries.next();
  const prefix = format === 'nlst' && target ? `${target.replace(/\/+$/, '')}/` : '';
  const line = (e: FsEntry): string => (format === 'list' ? listLine(e) : format === 'mlsd' ? mlsxLine(e) : prefix + e.name);
  async function* text(): AsyncGenerator<string> {
    let batch = '';
    for (let r = first; !r.done; r = await entries.next()) {
      batch += `${line(r.value)}\r\n`;
      if (batch.length >= LIST_BATCH_BYTES) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  try {
    await s.withData(async (data) => {
      await pipeline(Readable.from(text(), { objectMode: false }), data);
    });
  } finally {
    await entries.return(undefined);
  }
}

export const transferCommands: Record<string, CommandSpec> = {
  PASV: { run: pasv },
  EPSV: { run: epsv },
  PORT: { run: port },
  EPRT: { run: eprt },
  REST: { run: rest },
  ABOR: { run: abor, urgent: true },
  RETR: { run: retr },
  STOR: { run: (s, a) => store(s, a, false) },
  APPE: { run: (s, a) => store(s, a, true) },
  LIST: { run: (s, a) => list(s, a, 'list') },
  NLST: { run: (s, a) => list(s, a, 'nlst') },
  MLSD: { run: (s, a) => list(s, a, 'mlsd') },
};
