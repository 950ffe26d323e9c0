/** Swift's listing parameters → the core's ListQuery (validated as Swift's proxy does). */
import type { ListQuery } from '../../src/core/types.ts';
import { HttpError } from './errors.ts';

export function listQuery(params: Map<string, string>, maxLimit: number, allowPath: boolean): ListQuery {
  let limit = maxLimit;
  const given = params.get('limit');
  // Swift: a limit that is not all digits is ignored; one above the maximum is refused.
  if (given && /^\d+$/.test(given)) {
    limit = Number(given);
    if (limit > maxLimit) throw new HttpError(412, `Maximum limit is ${maxLimit}`);
  }
  const q: ListQuery = { limit };
  const prefix = params.get('prefix');
  if (prefix) q.prefix = prefix;
  const delimiter = params.get('delimiter');
  if (delimiter) q.delimiter = delimiter;
  const marker = params.get('marker');
  if (marker) q.marker = marker;
  const endMarker = params.get('end_marker');
  if (endMarker) q.endMarker = endMarker;
  const reverse = params.get('reverse');
  if (reverse !== undefined && ['true', '1', 'yes', 'on', 't', 'y'].includes(reverse.toLowerCase())) q.reverse = true;
  if (allowPath && params.has('path')) q.path = params.get('path') ?? '';
  return q;
}
