/**
 * A failed request to the remote endpoint: an HTTP status, or 0 when no answer came
 * (network error, timeout). errno.ts turns it into an errno.
 */
export class RemoteError extends Error {
  readonly status: number;
  /** The start of the response body (Swift puts the reason there, e.g. "quota"). */
  readonly body: string;

  constructor(status: number, message: string, body = '') {
    super(message);
    this.name = 'RemoteError';
    this.status = status;
    this.body = body;
  }
}
