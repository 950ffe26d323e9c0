/**
 * Account ACLs (X-Account-Access-Control), tempauth's version-2 JSON ACLs:
 * {"admin": [...], "read-write": [...], "read-only": [...]}, each a list of grantees
 * matched like container ACL entries. Stored in account sysmeta as normalized JSON.
 */
import { errors } from '../src/core/errors.ts';

export interface AccountAcl {
  admin: string[];
  readWrite: string[];
  readOnly: string[];
}

const KEYS = ['admin', 'read-write', 'read-only'] as const;

/**
 * Validates a client's X-Account-Access-Control value and returns the form to store
 * (compact, sorted keys, ASCII-only: Swift's format_acl v2). Errors read like tempauth's.
 */
export function cleanAccountAcl(value: string): string {
  const parsed = parseJsonObject(value);
  const problem = parsed === undefined ? `Syntax error in input (${JSON.stringify(value)})` : findProblem(parsed);
  if (problem !== undefined || parsed === undefined) {
    throw errors.invalidArgument(`X-Account-Access-Control invalid: ${problem ?? 'Syntax error'}\n\nInput: ${value}\n`);
  }
  return formatAccountAcl(parsed);
}

/**
 * The ACL from a stored value, or undefined when nothing is granted or the value is
 * unreadable (tempauth then ignores it rather than failing requests).
 */
export function parseAccountAcl(stored: string | undefined): AccountAcl | undefined {
  if (stored === undefined) return undefined;
  const parsed = parseJsonObject(stored);
  if (parsed === undefined) return undefined;
  const list = (key: string): string[] => {
    const entries = parsed[key];
    return Array.isArray(entries) ? entries.filter((e): e is string => typeof e === 'string') : [];
  };
  const acl: AccountAcl = { admin: list('admin'), readWrite: list('read-write'), readOnly: list('read-only') };
  return acl.admin.length + acl.readWrite.length + acl.readOnly.length > 0 ? acl : undefined;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text === '') return {}; // Swift: an empty header clears the ACL
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function findProblem(acl: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(acl)) {
    // tempauth considers itself authoritative: unknown keys are errors, not extensions.
    if (!(KEYS as readonly string[]).includes(key)) return `Key ${JSON.stringify(key)} not recognized`;
  }
  for (const key of KEYS) {
    if (!(key in acl)) continue;
    const entries = acl[key];
    if (!Array.isArray(entries)) return `Value for key ${JSON.stringify(key)} must be a list`;
    if (!entries.every((e) => typeof e === 'string')) return `Elements of ${JSON.stringify(key)} list must be strings`;
  }
  return undefined;
}

function formatAccountAcl(acl: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(acl).sort()) sorted[key] = acl[key];
  // Headers are safest in ASCII, hence \uXXXX escapes like Python's ensure_ascii.
  return JSON.stringify(sorted).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
