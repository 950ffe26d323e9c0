/**
 * The Swift API over fastify 5. Fastify routes the few fixed paths; every /v1 request is
 * rewritten to one internal route and hijacked in its onRequest hook, so the raw URL,
 * the raw body stream and Swift's exact headers stay under our control.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { authPath, handleAuth } from './auth-routes.ts';
import { clientErrorHandler } from './client-errors.ts';
import { endChangeStreams } from './changes.ts';
import type { HttpDeps } from './context.ts';
import { HTML, defaultBody } from './errors.ts';
import { infoDocument } from './info.ts';
import { newTransId, sendBody } from './response.ts';
import { installPublicViews } from './public/front-door.ts';
import { handleSwift } from './swift-handler.ts';

export type { HttpConfig, HttpDeps } from './context.ts';

const SWIFT_ROUTE = '/__swift';
const AUTH_ROUTE = '/__auth';
const ALL_METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS', 'PATCH', 'TRACE'];

export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.config.logger ?? false,
    // Swift allows 90 metadata headers of up to 256 bytes each, plus the rest.
    http: { maxHeaderSize: 64 * 1024 },
    routerOptions: { maxParamLength: 16 * 1024, ignoreTrailingSlash: false },
    // Bodies are streamed by the handlers, never buffered: fastify must not read them.
    bodyLimit: 1024 * 1024,
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      if (url.startsWith('/v1/') || url === '/v1' || url.startsWith('/v1?') || url.startsWith('/v1.0/')) return SWIFT_ROUTE;
      if (authPath(url) !== undefined) return AUTH_ROUTE;
      return url;
    },
    clientErrorHandler,
    frameworkErrors: (_err, req, reply) => {
      reply.hijack();
      sendBody(reply.raw, newTransId(), 404, [['Content-Type', HTML]], defaultBody(404), req.method === 'HEAD');
    },
  });
  if (!app.supportedMethods.includes('COPY')) app.addHttpMethod('COPY', { hasBody: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  // Node would answer "100 Continue" by itself; the PUT handler sends it only once the
  // request passed its checks, so refused uploads are never sent.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  // Custom domains, storage-domain names and staticweb are answered before fastify routes.
  installPublicViews(app, deps);
  // Change streams never end by themselves: end them, or server.close() would wait forever.
  app.addHook('preClose', async () => endChangeStreams(deps));

  const originalUrl = (raw: { url?: string; originalUrl?: string }): string => raw.originalUrl ?? raw.url ?? '/';

  app.route({
    method: ALL_METHODS,
    url: SWIFT_ROUTE,
    onRequest: (req, reply, _done) => {
      reply.hijack();
      void handleSwift(deps, req.raw, reply.raw, originalUrl(req.raw as { url?: string; originalUrl?: string }));
    },
    handler: async () => undefined,
  });
  app.route({
    method: ALL_METHODS,
    url: AUTH_ROUTE,
    onRequest: (req, reply, _done) => {
      reply.hijack();
      const path = authPath(originalUrl(req.raw as { url?: string; originalUrl?: string })) ?? '/';
      void handleAuth(deps, req.raw, reply.raw, path);
    },
    handler: async () => undefined,
  });
  app.get('/info', (req, reply) => {
    reply.hijack();
    const body = JSON.stringify(infoDocument(deps));
    sendBody(reply.raw, newTransId(), 200, [['Content-Type', 'application/json; charset=UTF-8']], body, req.method === 'HEAD');
  });
  app.get('/healthcheck', (req, reply) => {
    reply.hijack();
    sendBody(reply.raw, newTransId(), 200, [['Content-Type', 'text/plain']], 'OK', req.method === 'HEAD');
  });
  app.setNotFoundHandler((req, reply) => {
    reply.hijack();
    sendBody(reply.raw, newTransId(), 404, [['Content-Type', HTML]], defaultBody(404), req.method === 'HEAD');
  });
  await app.ready();
  return app;
}
