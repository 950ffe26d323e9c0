/**
 * CORS as Swift's proxy does it, from the container's X-Container-Meta-Access-Control-*
 * settings: OPTIONS preflights, and Access-Control-* headers on container and object
 * responses to requests with an Origin (strict mode: only for allowed origins).
 */
import type { ServerResponse } from 'node:http';
import type { ContainerSettings } from '../../src/core/namespace.ts';
import type { Ctx } from './context.ts';
import { defaultBody, HTML } from './errors.ts';
import { header } from './headers.ts';
import { type HeaderList, sendBody, setResponseDecorator } from './response.ts';

export const STRICT_CORS_MODE = true;

const ALLOWED: Record<'account' | 'container' | 'object', string[]> = {
  account: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'],
  container: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'],
  object: ['COPY', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'],
};

interface CorsInfo {
  allowOrigin?: string;
  maxAge?: string;
  exposeHeaders?: string;
}

function corsInfo(rec: ContainerSettings | undefined): CorsInfo {
  const info: CorsInfo = {};
  if (!rec) return info;
  const m = rec.meta;
  if (m['access-control-allow-origin'] !== undefined) info.allowOrigin = m['access-control-allow-origin'];
  if (m['access-control-max-age'] !== undefined) info.maxAge = m['access-control-max-age'];
  if (m['access-control-expose-headers'] !== undefined) info.exposeHeaders = m['access-control-expose-headers'];
  return info;
}

function originAllowed(info: CorsInfo, origin: string): boolean {
  const allowed = new Set((info.allowOrigin ?? '').split(' ').map((a) => a.trim()).filter(Boolean));
  return allowed.has(origin) || allowed.has('*');
}

function kind(ctx: Ctx): 'account' | 'container' | 'object' {
  return ctx.object !== undefined ? 'object' : ctx.container !== undefined ? 'container' : 'account';
}

/** Answers OPTIONS (no authentication, as in Swift). */
export async function handleOptions(ctx: Ctx): Promise<void> {
  const allowed = ALLOWED[kind(ctx)];
  const origin = header(ctx.req.headers, 'origin');
  if (!origin || ctx.container === undefined) {
    sendBody(ctx.res, ctx.transId, 200, [['Content-Type', HTML], ['Allow', allowed.join(', ')]]);
    return;
  }
  const info = corsInfo(await ctx.deps.namespace.getContainerSettings(ctx.account, ctx.container));
  const method = header(ctx.req.headers, 'access-control-request-method');
  if (!originAllowed(info, origin) || method === undefined || !allowed.includes(method)) {
    sendBody(ctx.res, ctx.transId, 401, [['Content-Type', HTML], ['Allow', allowed.join(', ')]], defaultBody(401));
    return;
  }
  const h: HeaderList = [['Content-Type', HTML], ['Allow', allowed.join(', ')]];
  const vary: string[] = [];
  if ((info.allowOrigin ?? '').trim() === '*') h.push(['Access-Control-Allow-Origin', '*']);
  else {
    h.push(['Access-Control-Allow-Origin', origin]);
    vary.push('Origin');
  }
  if (info.maxAge !== undefined) h.push(['Access-Control-Max-Age', info.maxAge]);
  h.push(['Access-Control-Allow-Methods', allowed.join(', ')]);
  const reqHeaders = [...new Set((header(ctx.req.headers, 'access-control-request-headers') ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
  if (reqHeaders.length) {
    h.push(['Access-Control-Allow-Headers', reqHeaders.join(', ')]);
    vary.push('Access-Control-Request-Headers');
  }
  if (vary.length) h.push(['Vary', vary.join(', ')]);
  sendBody(ctx.res, ctx.transId, 200, h);
}

const BASE_EXPOSE = ['cache-control', 'content-language', 'content-type', 'expires', 'last-modified', 'pragma', 'etag', 'x-timestamp', 'x-trans-id', 'x-openstack-request-id'];

/** For container/object requests with an Origin: decorate whatever response goes out. */
export async function prepareCors(ctx: Ctx): Promise<void> {
  const origin = header(ctx.req.headers, 'origin');
  if (!origin || ctx.container === undefined) return;
  const info = corsInfo(await ctx.deps.namespace.getContainerSettings(ctx.account, ctx.container));
  if (STRICT_CORS_MODE && !originAllowed(info, origin)) return;
  setResponseDecorator(ctx.res, (headers: HeaderList, res: ServerResponse) => {
    void res;
    const expose = new Set(BASE_EXPOSE);
    for (const [k] of headers) if (k.startsWith('X-Container-Meta') || k.startsWith('X-Object-Meta')) expose.add(k.toLowerCase());
    for (const e of (info.exposeHeaders ?? '').split(' ')) if (e.trim()) expose.add(e.trim().toLowerCase());
    headers.push(['Access-Control-Expose-Headers', [...expose].join(', ')]);
    if ((info.allowOrigin ?? '').trim() === '*') headers.push(['Access-Control-Allow-Origin', '*']);
    else {
      headers.push(['Access-Control-Allow-Origin', origin]);
      const i = headers.findIndex(([k]) => k === 'Vary');
      if (i >= 0) headers[i] = ['Vary', `${(headers[i] as [string, string])[1]}, Origin`];
      else headers.push(['Vary', 'Origin']);
    }
  });
}
