import { describe, expect, it } from 'vitest';
import { hashKey, hashToken, keyNeedsRehash, verifyKey } from './keys.ts';

const FAST = { N: 1 << 10, r: 8, p: 1 };

describe('hashKey / verifyKey', () => {
  it('writes the self-describing scrypt format with default parameters', async () => {
    const stored = await hashKey('s3cret');
    const parts = stored.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(parts[4] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5] ?? '', 'base64')).toHaveLength(32);
    expect(await verifyKey('s3cret', stored)).toBe(true);
  });

  it('rejects a wrong key, a near miss and the empty key', async () => {
    const stored = await hashKey('testing', FAST);
    expect(await verifyKey('testing', stored)).toBe(true);
    expect(await verifyKey('testinG', stored)).toBe(false);
    expect(await verifyKey('testing ', stored)).toBe(false);
    expect(await verifyKey('', stored)).toBe(false);
  });

  it('salts: the same key hashes differently each time', async () => {
    const a = await hashKey('same', FAST);
    const b = await hashKey('same', FAST);
    expect(a).not.toBe(b);
    expect(await verifyKey('same', a)).toBe(true);
    expect(await verifyKey('same', b)).toBe(true);
  });

  it('verifies with the parameters recorded in the hash', async () => {
    const stored = await hashKey('k', { N: 1 << 11, r: 4, p: 2 });
    expect(stored.startsWith('scrypt$2048$4$2$')).toBe(true);
    expect(await verifyKey('k', stored)).toBe(true);
  });

  it('treats malformed or hostile hashes as a mismatch instead of throwing', async () => {
    const good = await hashKey('k', FAST);
    const [, , r, p, salt, hash] = good.split('$');
    for (const bad of [
      '',
      'plain',
      'bcrypt$2048$8$1$aaaa$bbbb',
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$${1 << 30}$${r}$${p}$${salt}$${hash}`, // N far too large
      `scrypt$1024$${r}$${p}$$${hash}`, // no salt
      `scrypt$1024$${r}$${p}$${salt}$AAAA`, // truncated hash
      `scrypt$1024$${r}$${p}$${salt}`,
    ]) {
      expect(await verifyKey('k', bad)).toBe(false);
    }
  });

  it('says when a hash is weaker than the current parameters', async () => {
    expect(keyNeedsRehash(await hashKey('k', FAST))).toBe(true);
    expect(keyNeedsRehash(await hashKey('k'))).toBe(false);
    expect(keyNeedsRehash('garbage')).toBe(true);
  });
});

describe('hashToken', () => {
  it('is SHA-256 hex and deterministic', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashToken('AUTH_tk00')).toBe(hashToken('AUTH_tk00'));
    expect(hashToken('AUTH_tk00')).not.toBe(hashToken('AUTH_tk01'));
  });
});
