import { serve } from '../../server.ts';
import type { Command } from '../args.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the gateway (HTTP, and FTP/FUSE when enabled) until interrupted',
  usage:
    'swiftgate serve [--config FILE] [--data DIR] [--http HOST:PORT] [--ftp HOST:PORT] [--workers N] [--fuse-mount DIR]',
  options: {
    http: { type: 'string' },
    ftp: { type: 'string' },
    workers: { type: 'string', short: 'w' },
    'fuse-mount': { type: 'string' },
  },
  async run(ctx) {
    const config = ctx.config();
    if (typeof ctx.values.workers === 'string') {
      const n = Number(ctx.values.workers);
      if (!Number.isInteger(n) || n < 0) {
        ctx.err('--workers takes a whole number (0 = one per core)');
        return 2;
      }
      config.http.workers = n;
    }
    if (typeof ctx.values['fuse-mount'] === 'string') config.fuse.mountpoint = ctx.values['fuse-mount'];
    await serve(config);
    return 0;
  },
};
