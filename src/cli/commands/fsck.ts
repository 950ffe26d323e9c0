import { openCoreForCommand } from '../../core.ts';
import { fsck, fsckExitCode } from '../../fsck.ts';
import type { Command } from '../args.ts';

export const fsckCommand: Command = {
  name: 'fsck',
  summary: 'Check that metadata and blobs agree (counts, bytes, missing and orphan blobs)',
  usage:
    'swiftgate fsck [--repair] [--deep] [--json] [--data DIR]\n\n' +
    'Exit codes (as fsck(8)): 0 clean, 1 problems found and all repaired, 4 problems left, 8 could not run.\n' +
    '--deep also reads every blob and compares its MD5 with the ETag.',
  options: { repair: { type: 'boolean' }, deep: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(ctx) {
    let core;
    try {
      core = await openCoreForCommand(ctx.config());
    } catch (err) {
      ctx.err(`fsck: ${(err as Error).message}`);
      return 8;
    }
    try {
      const report = await fsck(core.store, core.blobs, {
        repair: ctx.values.repair === true,
        deep: ctx.values.deep === true,
        // On a running server a blob may be mid-upload; give such blobs a minute.
        pendingGraceMs: 60_000,
      });
      if (ctx.values.json) ctx.out(JSON.stringify(report, null, 2));
      else {
        ctx.out(`${report.accounts} accounts, ${report.containers} containers, ${report.objects} objects, ${report.bytes} bytes, ${report.blobs} blobs`);
        for (const p of report.problems) ctx.out(`${p.repaired ? 'repaired' : 'PROBLEM '} ${p.kind}: ${p.detail}`);
        ctx.out(report.problems.length === 0 ? 'clean' : `${report.problems.length} problem(s)`);
      }
      return fsckExitCode(report);
    } finally {
      await core.close();
    }
  },
};
