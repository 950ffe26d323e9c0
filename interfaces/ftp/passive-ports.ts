/**
 * Passive-mode listeners from a configured port range. Every port of the range is tried
 * (starting after the last one handed out, so busy ports and TIME_WAIT pile-ups are
 * spread), so PASV fails only when every port is really taken.
 */
import { createServer, type Server } from 'node:net';

export class PassivePorts {
  private next = 0;

  constructor(
    private readonly host: string,
    private readonly min: number,
    private readonly max: number,
  ) {}

  /** A server listening on a free port of the range (port 0 = any, if the range is 0–0). */
  async listen(): Promise<Server> {
    if (this.min === 0 && this.max === 0) return listenOn(this.host, 0);
    const count = this.max - this.min + 1;
    for (let i = 0; i < count; i++) {
      const port = this.min + ((this.next + i) % count);
      try {
        const server = await listenOn(this.host, port);
        this.next = (port - this.min + 1) % count;
        return server;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw new Error(`every passive port ${this.min}-${this.max} is in use`);
  }
}

function listenOn(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // pauseOnConnect: nothing is read before the transfer decides plain vs TLS.
    const server = createServer({ pauseOnConnect: true });
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: 4 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
