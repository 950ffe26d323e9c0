/**
 * `swiftgate <command>`: the command table. Each command lives in its own module under
 * commands/ and declares its usage, so `--help` is never out of date.
 */
import { isSwiftgateError } from '../core/errors.ts';
import { type Command, parseCommandArgs } from './args.ts';
import { commands } from './commands/index.ts';

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'swiftgate — an OpenStack Swift API gateway with FTP, FUSE and public-URL views',
    '',
    'Usage: swiftgate <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --config FILE (TOML), --data DIR and --help.',
    'Environment: SWIFTGATE_DATA, SWIFTGATE_HTTP, SWIFTGATE_WORKERS, SWIFTGATE_FTP, … (see README).',
  ].join('\n');
}

function commandHelp(cmd: Command): string {
  return `${cmd.summary}\n\nUsage: ${cmd.usage}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topHelp()}\n`);
    return name ? 0 : 2;
  }
  // Two-word commands (`user add`) are looked up before one-word ones.
  const two = rest[0] ? commands.find((c) => c.name === `${name} ${rest[0]}`) : undefined;
  const cmd = two ?? commands.find((c) => c.name === name);
  if (!cmd) {
    const group = commands.filter((c) => c.name.startsWith(`${name} `));
    if (group.length > 0) {
      process.stderr.write(`Usage:\n${group.map((c) => `  ${c.usage}`).join('\n')}\n`);
      return rest.includes('--help') || rest.includes('-h') ? 0 : 2;
    }
    process.stderr.write(`swiftgate: unknown command "${name}"\n\n${topHelp()}\n`);
    return 2;
  }
  const args = two ? rest.slice(1) : rest;
  let ctx;
  try {
    ctx = parseCommandArgs(cmd, args);
  } catch (err) {
    process.stderr.write(`swiftgate ${cmd.name}: ${(err as Error).message}\n\nUsage: ${cmd.usage}\n`);
    return 2;
  }
  if (ctx.values.help) {
    process.stdout.write(`${commandHelp(cmd)}\n`);
    return 0;
  }
  return cmd.run(ctx);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Commands that opened servers or stores close them; the exit code is the verdict.
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = isSwiftgateError(err) ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`swiftgate: ${message}\n`);
    if (process.env.SWIFTGATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  },
);
