import { describe, expect, it } from 'vitest';
import { ErrorCodes, isSwiftgateError } from '../src/core/errors.ts';
import { cleanAccountAcl, parseAccountAcl } from './account-acl.ts';

function invalid(value: string): string {
  try {
    cleanAccountAcl(value);
  } catch (err) {
    if (isSwiftgateError(err, ErrorCodes.INVALID_ARGUMENT)) return err.message;
    throw err;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('cleanAccountAcl (X-Account-Access-Control, tempauth v2 JSON)', () => {
  it('normalizes to compact JSON with sorted keys and ASCII escapes', () => {
    expect(cleanAccountAcl('{ "read-only": ["x"], "admin": ["acct:böb"] }')).toBe(
      '{"admin":["acct:b\\u00f6b"],"read-only":["x"]}',
    );
    expect(cleanAccountAcl('')).toBe('{}');
  });

  it.each([
    ['not json', 'Syntax error in input ("not json")'],
    ['["admin"]', 'Syntax error in input ("[\\"admin\\"]")'],
    ['{"owner": ["a"]}', 'Key "owner" not recognized'],
    ['{"admin": "a"}', 'Value for key "admin" must be a list'],
    ['{"read-write": [1]}', 'Elements of "read-write" list must be strings'],
  ])('rejects %j', (value, problem) => {
    expect(invalid(value)).toBe(`X-Account-Access-Control invalid: ${problem}\n\nInput: ${value}\n`);
  });
});

describe('parseAccountAcl', () => {
  it('reads the three lists', () => {
    expect(parseAccountAcl('{"admin":["a"],"read-only":["c"],"read-write":["b"]}')).toEqual({
      admin: ['a'],
      readWrite: ['b'],
      readOnly: ['c'],
    });
  });

  it('is undefined when nothing is granted or the value is unreadable', () => {
    expect(parseAccountAcl(undefined)).toBeUndefined();
    expect(parseAccountAcl('')).toBeUndefined();
    expect(parseAccountAcl('{"admin":[]}')).toBeUndefined();
    expect(parseAccountAcl('{oops')).toBeUndefined();
    expect(parseAccountAcl('[1]')).toBeUndefined();
  });
});
