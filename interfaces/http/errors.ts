/**
 * The one place where failures become HTTP: SwiftgateError codes and edge-detected
 * problems map to Swift's status codes and Swift's exact bodies (swob's RESPONSE_REASONS).
 */
import { ErrorCodes, type ErrorCode, isSwiftgateError } from '../../src/core/errors.ts';
import type { HeaderList } from './response.ts';

const REASONS: Record<number, [string, string]> = {
  200: ['OK', ''],
  201: ['Created', ''],
  202: ['Accepted', 'The request is accepted for processing.'],
  204: ['No Content', ''],
  206: ['Partial Content', ''],
  304: ['Not Modified', ''],
  400: ['Bad Request', 'The server could not comply with the request since it is either malformed or otherwise incorrect.'],
  401: ['Unauthorized', 'This server could not verify that you are authorized to access the document you requested.'],
  403: ['Forbidden', 'Access was denied to this resource.'],
  404: ['Not Found', 'The resource could not be found.'],
  405: ['Method Not Allowed', 'The method is not allowed for this resource.'],
  406: ['Not Acceptable', 'The resource is not available in a format acceptable to your browser.'],
  408: ['Request Timeout', 'The server has waited too long for the request to be sent by the client.'],
  409: ['Conflict', 'There was a conflict when trying to complete your request.'],
  411: ['Length Required', 'Content-Length header required.'],
  412: ['Precondition Failed', 'A precondition for this request was not met.'],
  413: ['Request Entity Too Large', 'The body of your request was too large for this server.'],
  414: ['Request URI Too Long', 'The request URI was too long for this server.'],
  416: ['Requested Range Not Satisfiable', 'The Range requested is not available.'],
  417: ['Expectation Failed', 'Expectation failed.'],
  422: ['Unprocessable Entity', 'Unable to process the contained instructions'],
  499: ['Client Disconnect', 'The client was disconnected during request.'],
  500: ['Internal Error', 'The server has either erred or is incapable of performing the requested operation.'],
  501: ['Not Implemented', 'The requested method is not implemented by this server.'],
  503: ['Service Unavailable', 'The server is currently unavailable. Please try again at a later time.'],
};

export const HTML = 'text/html; charset=UTF-8';
export const TEXT = 'text/plain';

/** swob's default body for a status: `<html><h1>Title</h1><p>Explanation</p></html>`, or '' when it has none. */
export function defaultBody(status: number): string {
  const r = REASONS[status];
  return r && r[1] ? `<html><h1>${r[0]}</h1><p>${r[1]}</p></html>` : '';
}

/** A response the edge decided on: status, Swift's body and its content type. */
export class HttpError extends Error {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
  readonly headers: HeaderList;
  constructor(status: number, body?: string, contentType?: string, headers: HeaderList = []) {
    super(body ?? REASONS[status]?.[0] ?? String(status));
    this.status = status;
    this.body = body ?? defaultBody(status);
    // swob's default content type; Swift passes text/plain with its custom messages.
    this.contentType = contentType ?? (body === undefined ? HTML : TEXT);
    this.headers = headers;
  }
}

export const httpErrors = {
  badRequest: (body?: string) => new HttpError(400, body),
  unauthorized: (realm: string) => new HttpError(401, undefined, undefined, [['Www-Authenticate', `Swift realm="${quoteRealm(realm)}"`]]),
  forbidden: () => new HttpError(403),
  notFound: () => new HttpError(404),
  methodNotAllowed: (allow: string) => new HttpError(405, undefined, undefined, [['Allow', allow]]),
  notAcceptable: () => new HttpError(406),
  conflict: (body?: string) => new HttpError(409, body),
  // Whatever body follows has no framing: close rather than parse it as the next request.
  lengthRequired: () => new HttpError(411, 'Missing Content-Length header.', undefined, [['Connection', 'close']]),
  preconditionFailed: (body?: string) => new HttpError(412, body),
  tooLarge: (body = 'Your request is too large.') => new HttpError(413, body),
  unprocessable: () => new HttpError(422),
  notImplemented: (body?: string) => new HttpError(501, body),
};

/** wsgi_quote: URL-quoting with '/' safe, so any account name fits in a header. */
function quoteRealm(realm: string): string {
  return encodeURIComponent(realm).replace(/%2F/g, '/').replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

const BY_CODE: Partial<Record<ErrorCode, (message: string) => HttpError>> = {
  [ErrorCodes.NOT_FOUND]: () => new HttpError(404),
  [ErrorCodes.ACCOUNT_NOT_FOUND]: () => new HttpError(404),
  [ErrorCodes.CONTAINER_NOT_FOUND]: () => new HttpError(404),
  [ErrorCodes.OBJECT_NOT_FOUND]: () => new HttpError(404),
  [ErrorCodes.ALREADY_EXISTS]: () => new HttpError(409),
  [ErrorCodes.CONTAINER_NOT_EMPTY]: () => new HttpError(409),
  [ErrorCodes.ACCOUNT_NOT_EMPTY]: () => new HttpError(409),
  [ErrorCodes.DIRECTORY_NOT_EMPTY]: () => new HttpError(409),
  [ErrorCodes.CONFLICT]: () => new HttpError(409),
  [ErrorCodes.INVALID_NAME]: (m) => new HttpError(400, m),
  [ErrorCodes.NAME_TOO_LONG]: (m) => new HttpError(400, m),
  [ErrorCodes.INVALID_ARGUMENT]: (m) => new HttpError(400, m),
  [ErrorCodes.METADATA_TOO_LARGE]: (m) => new HttpError(400, m),
  [ErrorCodes.OBJECT_TOO_LARGE]: () => new HttpError(413, 'Your request is too large.'),
  [ErrorCodes.QUOTA_EXCEEDED]: (m) => new HttpError(413, m),
  [ErrorCodes.ETAG_MISMATCH]: () => new HttpError(422),
  // Fewer bytes than Content-Length announced: the client went away (Swift: 499).
  [ErrorCodes.SIZE_MISMATCH]: () => new HttpError(499),
  [ErrorCodes.UPLOAD_ABORTED]: () => new HttpError(499),
  [ErrorCodes.PRECONDITION_FAILED]: () => new HttpError(412),
  [ErrorCodes.RANGE_NOT_SATISFIABLE]: () => new HttpError(416),
  [ErrorCodes.FORBIDDEN]: () => new HttpError(403),
  [ErrorCodes.BACKEND_UNAVAILABLE]: () => new HttpError(503),
  [ErrorCodes.STORE_LOCKED]: () => new HttpError(503),
  [ErrorCodes.INTERNAL]: () => new HttpError(500),
};

/** Any thrown value → the HttpError to send. Unknown errors become a bare 500: no stack reaches a client. */
export function toHttpError(err: unknown, realm = 'unknown'): HttpError {
  if (err instanceof HttpError) return err;
  if (isSwiftgateError(err)) {
    if (err.code === ErrorCodes.UNAUTHORIZED) return httpErrors.unauthorized(realm);
    const make = BY_CODE[err.code];
    if (make) return make(err.message);
  }
  return new HttpError(500);
}
