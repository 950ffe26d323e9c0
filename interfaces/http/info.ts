/** GET /info (Swift's capabilities: constraints plus the features really implemented) and /healthcheck. */
import type { HttpDeps } from './context.ts';
import { MAX_CONTAINERS_PER_EXTRACTION, MAX_DELETES_PER_REQUEST, MAX_FAILED_DELETES, MAX_FAILED_EXTRACTIONS } from './bulk.ts';
import { POLICY_NAME } from './container.ts';
import { STRICT_CORS_MODE } from './cors.ts';
import { ETAG_QUOTER_DEFAULT } from './etag-quoter.ts';

export function infoDocument(deps: HttpDeps): Record<string, unknown> {
  return {
    swift: {
      version: '2.30.1',
      ...deps.namespace.constraints,
      valid_api_versions: ['v1', 'v1.0'],
      policies: [{ name: POLICY_NAME, aliases: POLICY_NAME, default: true }],
      allow_account_management: true,
      account_autocreate: true,
      strict_cors_mode: STRICT_CORS_MODE,
    },
    tempauth: { account_acls: true },
    container_quotas: {},
    account_quotas: {},
    etag_quoter: { enable_by_default: ETAG_QUOTER_DEFAULT },
    dlo: { max_get_time: 86400 },
    bulk_delete: { max_deletes_per_request: MAX_DELETES_PER_REQUEST, max_failed_deletes: MAX_FAILED_DELETES },
    bulk_upload: { max_containers_per_extraction: MAX_CONTAINERS_PER_EXTRACTION, max_failed_extractions: MAX_FAILED_EXTRACTIONS },
  };
}
