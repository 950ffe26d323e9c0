/** Every command the FTP view understands, by verb. */
import type { CommandSpec } from '../session.ts';
import { connectionCommands } from './connection.ts';
import { fileCommands } from './files.ts';
import { loginCommands } from './login.ts';
import { navigationCommands } from './navigation.ts';
import { transferCommands } from './transfer.ts';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  Object.entries({ ...loginCommands, ...connectionCommands, ...navigationCommands, ...fileCommands, ...transferCommands }),
);
