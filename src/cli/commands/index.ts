/** Every CLI command. A view that adds a command (e.g. `mount`) registers it here. */
import type { Command } from '../args.ts';
import { domainAddCommand, domainListCommand, domainRemoveCommand } from './domain.ts';
import { fsckCommand } from './fsck.ts';
import { migrateCommand } from './migrate.ts';
import { mountCommand } from './mount.ts';
import { serveCommand } from './serve.ts';
import { userAddCommand, userListCommand, userRemoveCommand } from './user.ts';

export const commands: Command[] = [serveCommand, userAddCommand, userListCommand, userRemoveCommand, domainAddCommand, domainListCommand, domainRemoveCommand, mountCommand, fsckCommand, migrateCommand];
