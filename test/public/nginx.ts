/** A throwaway Debian nginx (foreground, own prefix and temp dirs) for tests and benches. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

export function nginxWorks(): boolean {
  return NGINX !== undefined && spawnSync(NGINX, ['-v']).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface RunningNginx {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** Starts nginx with `httpBlock` inside `http { }`; `{{TEMP}}` is replaced by its own directory. */
export async function startNginx(httpBlock: (dir: string) => string, workers = 1): Promise<RunningNginx> {
  if (!NGINX) throw new Error('nginx is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'swiftgate-nginx-'));
  // Workers drop root privileges (to nobody): they must be able to use these directories.
  await chmod(dir, 0o755);
  for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'cache', 'logs', 'www']) {
    await mkdir(join(dir, d));
    await chmod(join(dir, d), 0o777);
  }
  const conf = `daemon off;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock(dir)}
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const port = Number(/listen 127\.0\.0\.1:(\d+)/.exec(httpBlock(dir))?.[1]);
  // Ready when it accepts connections (bounded).
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
