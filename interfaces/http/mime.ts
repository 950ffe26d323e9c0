/**
 * Content-Type guessing as Swift's proxy does it: Python's mimetypes, which reads the
 * host's /etc/mime.types over its built-in table. We read the same file when it exists
 * and fall back to the mime-types package (plus Python's few notable defaults).
 */
import { readFileSync } from 'node:fs';
import { lookup } from 'mime-types';

// Python's built-in answers where mime-db disagrees, for hosts without /etc/mime.types.
const PYTHON_DEFAULTS: Record<string, string> = { wav: 'audio/x-wav', py: 'text/x-python', sh: 'application/x-sh', c: 'text/plain', h: 'text/plain' };

// Media types web players need where Debian's table says otherwise (.ts is a Qt
// translation file there; HLS video segments are far more common in object storage).
const MEDIA_OVERRIDES: Record<string, string> = {
  ts: 'video/mp2t',
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mpd: 'application/dash+xml',
};

let table: Map<string, string> | undefined;

function systemTable(): Map<string, string> {
  if (table) return table;
  table = new Map();
  for (const file of ['/etc/mime.types']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/);
      const type = words.shift();
      if (!type) continue;
      for (const ext of words) table.set(ext, type);
    }
  }
  return table;
}

/** mimetypes.guess_type(path)[0] or application/octet-stream. */
export function guessContentType(name: string): string {
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0 && !(dot === 0 && base.length > 1)) return 'application/octet-stream';
  const ext = base.slice(dot + 1);
  const media = MEDIA_OVERRIDES[ext.toLowerCase()];
  if (media) return media;
  const sys = systemTable();
  const found = sys.get(ext) ?? sys.get(ext.toLowerCase());
  if (found) return found;
  if (sys.size === 0) {
    const py = PYTHON_DEFAULTS[ext.toLowerCase()];
    if (py) return py;
  }
  return lookup(base) || 'application/octet-stream';
}
