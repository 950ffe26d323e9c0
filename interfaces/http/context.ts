/** What every Swift request handler gets: the parsed request and where to answer. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../../auth/identity.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { UserDirectory } from '../../auth/users.ts';
import type { Namespace } from '../../src/core/namespace.ts';
import type { DomainDirectory } from '../../src/domains.ts';

export interface HttpConfig {
  /** Base of storage URLs handed out at login ("https://swift.example.com"); else from the request's scheme and Host. */
  storageUrlBase?: string;
  tokenTtlSeconds: number;
  logger?: boolean;
}

export interface HttpDeps {
  namespace: Namespace;
  users: UserDirectory;
  tokens: TokenService;
  config: HttpConfig;
  /** Custom domains (public view); optional until every caller passes it. */
  domains?: DomainDirectory;
  /** domain_remap's storage_domain ("storage.example.net"), lower-case. */
  storageDomain?: string;
}

export interface Ctx {
  deps: HttpDeps;
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  transId: string;
  /** Storage account ("AUTH_test"), container and object names, decoded. */
  account: string;
  container?: string;
  object?: string;
  version: string;
  query: Map<string, string>;
  identity: Identity | undefined;
  /** Swift's swift_owner: may see and set ACLs and other owner-only settings. */
  owner: boolean;
  /** Set by the reseller admin's requests (Swift's reseller_request). */
  reseller: boolean;
}

/** Account sysmeta keys (Swift's X-Account-Sysmeta-*), lower-case. */
export const SYSMETA = {
  accountAcl: 'core-access-control',
  rfcEtags: 'rfc-compliant-etags',
} as const;
