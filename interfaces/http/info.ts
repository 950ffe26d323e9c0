/** GET /info (Swift's capabilities: constraints plus the features really implemented) and /healthcheck. */
import type { HttpDeps } from './context.ts';
import { POLICY_NAME } from './container.ts';

export function infoDocument(deps: HttpDeps): Record<string, unknown> {
  return {
    swift: {
      version: '2.30.1',
      ...deps.namespace.constraints,
      valid_api_versions: ['v1', 'v1.0'],
      policies: [{ name: POLICY_NAME, aliases: POLICY_NAME, default: true }],
      allow_account_management: true,
      account_autocreate: true,
    },
    tempauth: { account_acls: true },
    container_quotas: {},
    account_quotas: {},
  };
}
