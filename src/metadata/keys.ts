/**
 * LevelDB key layout. One keyspace, a tag per record kind, NUL between parts: Swift
 * forbids NUL in names, so a part can never run into the next, and byte order of the
 * UTF-8 keys is exactly Swift's listing order within a container or account.
 *
 *   A␀acct                       account record
 *   C␀acct␀container             container record
 *   O␀acct␀container␀object      object record
 *   X␀deleteAt␀acct␀cont␀obj     expiry index (deleteAt zero-padded to 12 digits)
 *   P␀blobId                     pending blob (upload under way) → unix ms
 *   G␀blobId                     garbage blob (unreferenced, to delete)
 *   I␀blobId                     bytes of an inline (small) object
 *   U␀acct␀user                  user record
 *   T␀tokenHash                  token record
 *   D␀domain                     custom domain record
 *   S␀sync                       never stored: deleting it in a synced batch makes the log durable (GroupCommitter.sync)
 */
const SEP = '\u0000';
const AFTER_SEP = '\u0001';

export const keys = {
  account: (a: string) => `A${SEP}${a}`,
  accountRangeStart: () => `A${SEP}`,
  accountRangeEnd: () => `A${AFTER_SEP}`,
  container: (a: string, c: string) => `C${SEP}${a}${SEP}${c}`,
  containerPrefix: (a: string) => `C${SEP}${a}${SEP}`,
  object: (a: string, c: string, o: string) => `O${SEP}${a}${SEP}${c}${SEP}${o}`,
  objectPrefix: (a: string, c: string) => `O${SEP}${a}${SEP}${c}${SEP}`,
  expiry: (deleteAt: number, a: string, c: string, o: string) =>
    `X${SEP}${String(deleteAt).padStart(12, '0')}${SEP}${a}${SEP}${c}${SEP}${o}`,
  expiryPrefix: () => `X${SEP}`,
  expiryUpTo: (deleteAt: number) => `X${SEP}${String(deleteAt).padStart(12, '0')}${AFTER_SEP}`,
  pending: (blobId: string) => `P${SEP}${blobId}`,
  pendingPrefix: () => `P${SEP}`,
  garbage: (blobId: string) => `G${SEP}${blobId}`,
  inline: (blobId: string) => `I${SEP}${blobId}`,
  garbagePrefix: () => `G${SEP}`,
  user: (a: string, u: string) => `U${SEP}${a}${SEP}${u}`,
  userPrefix: () => `U${SEP}`,
  token: (h: string) => `T${SEP}${h}`,
  tokenPrefix: () => `T${SEP}`,
  domain: (d: string) => `D${SEP}${d}`,
  domainPrefix: () => `D${SEP}`,
  syncMarker: () => `S${SEP}sync`,
  /**
   * The end of the key range that starts with `prefix` (all keys are below it). Every
   * prefix ends in SEP, and SEP + 1 bounds the range exactly; a U+10FFFF sentinel would
   * cut off names that themselves start with U+10FFFF.
   */
  end: (prefix: string) => {
    if (!prefix.endsWith(SEP)) throw new RangeError('key prefixes end with the separator');
    return prefix.slice(0, -1) + AFTER_SEP;
  },
  split: (key: string) => key.split(SEP),
};
