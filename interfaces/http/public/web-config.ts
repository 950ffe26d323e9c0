/** A container's staticweb settings (X-Container-Meta-Web-*), read once per cached container record. */
import type { ContainerRecord, ObjectRecord } from '../../../src/core/types.ts';

export interface WebConfig {
  index: string;
  error: string;
  listings: boolean;
  listingsCss: string;
  listingsLabel: string;
  dirType: string;
}

const configs = new WeakMap<ContainerRecord, WebConfig | null>();
const TRUE = new Set(['true', '1', 'yes', 'on', 't', 'y']);

/** undefined when staticweb does nothing for this container (neither index nor listings). */
export function webConfig(cont: ContainerRecord): WebConfig | undefined {
  const hit = configs.get(cont);
  if (hit !== undefined) return hit ?? undefined;
  const m = cont.meta;
  const listings = (m['web-listings'] ?? '').trim();
  const c: WebConfig = {
    index: (m['web-index'] ?? '').trim(),
    error: (m['web-error'] ?? '').trim(),
    // Swift enables the listing branch on any non-empty value and renders only when true.
    listings: TRUE.has(listings.toLowerCase()),
    listingsCss: (m['web-listings-css'] ?? '').trim(),
    listingsLabel: (m['web-listings-label'] ?? '').trim(),
    dirType: (m['web-directory-type'] ?? '').trim() || 'application/directory',
  };
  const active = c.index !== '' || listings !== '';
  configs.set(cont, active ? c : null);
  return active ? c : undefined;
}

/** A directory marker (content type of the site's directory type, at most 1 byte) is not a page. */
export function isDirMarker(rec: ObjectRecord, web: WebConfig): boolean {
  return rec.contentType === web.dirType && rec.size <= 1;
}
