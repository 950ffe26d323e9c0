/** Runs a command body against the core: the data dir directly, or a running server. */
import { type Core, openCoreForCommand } from '../core.ts';
import type { CommandContext } from './args.ts';

export async function withCore<T>(ctx: CommandContext, fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await openCoreForCommand(ctx.config());
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}
