/**
 * User keys at rest: scrypt, stored self-describing so parameters can be raised later
 * without breaking old hashes. Tokens use a plain SHA-256 because they are 128-bit
 * random values: there is nothing to brute-force, and every request checks one.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** ~16 MiB and tens of milliseconds per verification: fine for many logins a second. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 1 << 14, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
// A stored hash is data; refuse parameters that would let a tampered record eat the machine.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function scryptAsync(key: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // node's default cap (32 MiB) is below what larger N or r need.
    maxmem: 128 * params.N * params.r * params.p + 128 * params.r * params.p + (1 << 20),
  };
  return new Promise((resolve, reject) => {
    scrypt(key, salt, length, options, (err, derived) => (err ? reject(err) : resolve(derived)));
  });
}

/** Hashes a key as `scrypt$N$r$p$saltB64$hashB64`. */
export async function hashKey(key: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(key, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface ParsedKeyHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parseKeyHash(stored: string): ParsedKeyHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  const num = (text: string): number => (/^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN);
  const params = { N: num(nText), r: num(rText), p: num(pText) };
  const powerOfTwo = Number.isInteger(params.N) && params.N > 1 && (params.N & (params.N - 1)) === 0;
  if (!powerOfTwo || params.N > MAX_N || !(params.r <= MAX_R) || !(params.p <= MAX_P)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length === 0 || hash.length < 16) return undefined;
  return { params, salt, hash };
}

/** True when `key` matches the stored hash; false for a wrong key or an unreadable hash. */
export async function verifyKey(key: string, stored: string): Promise<boolean> {
  const parsed = parseKeyHash(stored);
  if (!parsed) return false;
  const candidate = await scryptAsync(key, parsed.salt, parsed.hash.length, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

/** True when a stored hash uses weaker parameters than `params` (re-hash at next login). */
export function keyNeedsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseKeyHash(stored);
  if (!parsed) return true;
  return parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
}

/** SHA-256 hex of a token: what the store keeps, so a leaked store yields no usable tokens. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
