/** Command-line parsing on node:util parseArgs, with the options every command shares. */
import { parseArgs } from 'node:util';
import { type Config, loadConfig, parseHostPort } from '../config.ts';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Extra options beyond the shared --config/--data/--help. */
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  /** Loads the configuration: file, then environment, then --data/--http/--ftp flags. */
  config(): Config;
  out(line: string): void;
  err(line: string): void;
}

export const sharedOptions = {
  config: { type: 'string' as const, short: 'c' },
  data: { type: 'string' as const, short: 'd' },
  help: { type: 'boolean' as const, short: 'h' },
};

export function parseCommandArgs(cmd: Command, argv: string[]): CommandContext {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...sharedOptions, ...(cmd.options ?? {}) },
    allowPositionals: true,
    strict: true,
  });
  const vals = values as Record<string, string | boolean | string[] | undefined>;
  return {
    positionals,
    values: vals,
    config() {
      const c = loadConfig(typeof vals.config === 'string' ? { file: vals.config } : {});
      if (typeof vals.data === 'string') c.dataDir = resolvePath(vals.data);
      if (typeof vals.http === 'string') Object.assign(c.http, parseHostPort(vals.http, '--http'));
      if (typeof vals.ftp === 'string') {
        c.ftp.enabled = true;
        Object.assign(c.ftp, parseHostPort(vals.ftp, '--ftp'));
      }
      return c;
    },
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

function resolvePath(p: string): string {
  return p.startsWith('/') ? p : `${process.cwd()}/${p}`;
}
