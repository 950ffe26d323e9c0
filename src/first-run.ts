/** An empty gateway gets one admin user, whose key is printed once and never stored in clear. */
import { randomBytes } from 'node:crypto';
import type { Core } from './core.ts';

export async function ensureFirstUser(core: Core, print: (msg: string) => void): Promise<void> {
  if ((await core.users.listUsers()).length > 0) return;
  const key = randomBytes(18).toString('base64url');
  await core.users.addUser({ account: 'admin', user: 'admin', key, admin: true, resellerAdmin: true });
  print(
    [
      'No users yet: created the administrator (shown only this once, keep it safe):',
      '  user: admin:admin',
      `  key:  ${key}`,
      'Add more with: npx swiftgate user add ACCOUNT:USER --key KEY [--admin]',
    ].join('\n'),
  );
}
