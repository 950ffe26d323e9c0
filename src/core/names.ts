/**
 * Name rules shared by every view: UTF-8, no NUL, Swift's length limits. Names are
 * compared and ordered by their UTF-8 bytes (= code point order), as Swift's
 * listings are; JavaScript's `<` on strings orders by UTF-16 units and differs for
 * characters beyond U+FFFF, so ordering always goes through `compareNames`.
 */
import type { Constraints } from './constraints.ts';
import { errors } from './errors.ts';

export function compareNames(a: string, b: string): number {
  // Fast path: strings without surrogates order the same in UTF-16 and UTF-8.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa === sb) return ca - cb;
    // A surrogate (astral code point) sorts after every BMP code point.
    return sa ? 1 : -1;
  }
  return a.length - b.length;
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** True when the string holds only well-formed UTF-16 (so it encodes to valid UTF-8) and no NUL. */
export function isCleanUtf8(s: string): boolean {
  if (s.includes('\0')) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

export function validateAccountName(name: string, c: Constraints): void {
  if (!name) throw errors.invalidName('account name is empty');
  if (!isCleanUtf8(name)) throw errors.invalidName('account name is not valid UTF-8');
  if (name.includes('/')) throw errors.invalidName('account name may not contain "/"');
  if (utf8Length(name) > c.max_account_name_length)
    throw errors.nameTooLong(`account name longer than ${c.max_account_name_length} bytes`);
}

export function validateContainerName(name: string, c: Constraints): void {
  if (!name) throw errors.invalidName('container name is empty');
  if (!isCleanUtf8(name)) throw errors.invalidName('container name is not valid UTF-8');
  if (name.includes('/')) throw errors.invalidName('container name may not contain "/"');
  if (utf8Length(name) > c.max_container_name_length)
    throw errors.nameTooLong(`container name longer than ${c.max_container_name_length} bytes`);
}

export function validateObjectName(name: string, c: Constraints): void {
  if (!name) throw errors.invalidName('object name is empty');
  if (!isCleanUtf8(name)) throw errors.invalidName('object name is not valid UTF-8');
  if (utf8Length(name) > c.max_object_name_length)
    throw errors.nameTooLong(`object name longer than ${c.max_object_name_length} bytes`);
}

/** The smallest string greater than every string that starts with `prefix` (for range scans). */
export function prefixUpperBound(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1);
  if (last === undefined) throw new RangeError('empty prefix has no upper bound');
  const lastLen = last > 0xffff ? 2 : 1;
  return prefix.slice(0, prefix.length - lastLen) + String.fromCodePoint(last + 1);
}
