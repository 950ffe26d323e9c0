/** Swift's metadata limits (swift.common.constraints.check_metadata), applied per request. */
import type { Constraints } from './constraints.ts';
import { errors } from './errors.ts';
import type { Metadata } from './types.ts';
import { utf8Length } from './names.ts';

export function checkMetadata(meta: Metadata | undefined, c: Constraints, kind: 'account' | 'container' | 'object'): void {
  if (!meta) return;
  let count = 0;
  let size = 0;
  for (const [name, value] of Object.entries(meta)) {
    if (!name) throw errors.metadataTooLarge('Metadata name cannot be empty');
    const nameLen = utf8Length(name);
    const valueLen = utf8Length(value);
    if (nameLen > c.max_meta_name_length)
      throw errors.metadataTooLarge(`Metadata name too long: X-${cap(kind)}-Meta-${name}; max ${c.max_meta_name_length}`);
    if (valueLen > c.max_meta_value_length)
      throw errors.metadataTooLarge(`Metadata value longer than ${c.max_meta_value_length}: X-${cap(kind)}-Meta-${name}`);
    count += 1;
    size += nameLen + valueLen;
  }
  if (count > c.max_meta_count) throw errors.metadataTooLarge(`Too many metadata items; max ${c.max_meta_count}`);
  if (size > c.max_meta_overall_size) throw errors.metadataTooLarge(`Total metadata too large; max ${c.max_meta_overall_size}`);
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
