import { type Core, openCoreForCommand } from '../../core.ts';
import { loadConfig } from '../../config.ts';
import { formatProgress, migrate } from '../../migrate.ts';
import type { Command } from '../args.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Copy everything from one configuration\'s backends to another\'s (resumable, verified)',
  usage:
    'swiftgate migrate --from-config A.toml --to-config B.toml [--concurrency N]\n\n' +
    'Copies accounts, containers (metadata, ACLs), objects (bytes re-streamed, MD5 checked against the ETag),\n' +
    'users and custom domains; not tokens (clients log in again). Objects already at the destination with the\n' +
    'same ETag and timestamp are skipped, so an interrupted run is simply run again.\n' +
    'Exit codes: 0 done, 1 some objects failed to copy or verify, 2 usage, 130 interrupted.',
  options: {
    'from-config': { type: 'string' },
    'to-config': { type: 'string' },
    concurrency: { type: 'string' },
  },
  async run(ctx) {
    const from = ctx.values['from-config'];
    const to = ctx.values['to-config'];
    const concurrency = ctx.values.concurrency === undefined ? 8 : Number(ctx.values.concurrency);
    if (typeof from !== 'string' || typeof to !== 'string' || !Number.isInteger(concurrency) || concurrency < 1) {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const abort = new AbortController();
    const stop = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let src: Core | undefined;
    let dst: Core | undefined;
    try {
      src = await openCoreForCommand(loadConfig({ file: from }));
      dst = await openCoreForCommand(loadConfig({ file: to }));
      const tty = process.stderr.isTTY;
      const report = await migrate(src, dst, {
        concurrency,
        signal: abort.signal,
        onProgress: (p) => process.stderr.write(tty ? `\r${formatProgress(p)}\x1b[K` : `${formatProgress(p)}\n`),
      });
      if (tty) process.stderr.write('\n');
      for (const f of report.failures) ctx.err(`FAILED ${f}`);
      ctx.out(
        `${report.accounts} accounts, ${report.containers} containers, ${report.objects} objects (${report.copied} copied, ${report.skipped} already there, ` +
          `${report.failures.length} failed), ${report.bytes} bytes, ${report.users} users, ${report.domains} domains in ${(report.elapsedMs / 1000).toFixed(1)} s`,
      );
      return report.failures.length > 0 ? 1 : 0;
    } catch (err) {
      if (abort.signal.aborted) {
        ctx.err('\nmigrate: interrupted; run the same command again to resume');
        return 130;
      }
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await dst?.close();
      await src?.close();
    }
  },
};
