/**
 * docker-compose.yml and deploy/nginx.conf, checked without a Docker engine: `docker
 * compose config` when the compose plugin is installed, else the YAML parsed by PyYAML
 * (a real parser) when python3 has it, else a line-based check of the expected keys.
 * The nginx file is checked by `nginx -t` (with the upstreams pointed at loopback).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, nginxConfig } from './cluster.ts';

const composeFile = join(REPO, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  healthcheck?: { test?: unknown };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const ok = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The file as the best available parser sees it, and which one that was. */
function parseCompose(): { doc: Compose | undefined; how: string } {
  if (ok('docker', ['compose', 'version'])) {
    const json = execFileSync('docker', ['compose', '-f', composeFile, 'config', '--format', 'json'], { cwd: REPO, encoding: 'utf8' });
    return { doc: JSON.parse(json) as Compose, how: 'docker compose config' };
  }
  // Debian's python3 with python3-yaml (scripts/install-test-deps.sh installs it); a
  // python3 earlier on PATH (pyenv) may lack PyYAML.
  if (ok(PY, ['-c', 'import yaml'])) {
    const json = execFileSync(PY, ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', composeFile], { encoding: 'utf8' });
    return { doc: JSON.parse(json) as Compose, how: 'PyYAML' };
  }
  return { doc: undefined, how: 'line checks' };
}

describe('docker-compose.yml', () => {
  const { doc, how } = parseCompose();

  it(`describes two gateways behind nginx on PostgreSQL 15 and MinIO (checked with ${how})`, () => {
    if (!doc) {
      const text = readFileSync(composeFile, 'utf8');
      for (const key of ['postgres:', 'minio:', 'gateway1:', 'gateway2:', 'lb:', 'image: postgres:15', 'image: minio/minio', 'healthcheck:', 'pg-data:', 'minio-data:'])
        expect(text).toContain(key);
      return;
    }
    const s = doc.services;
    expect(Object.keys(s).sort()).toEqual(['gateway1', 'gateway2', 'lb', 'minio', 'postgres']);
    expect(s.postgres?.image).toBe('postgres:15');
    expect(s.minio?.image).toMatch(/^minio\/minio/);
    expect(s.lb?.image).toMatch(/^nginx/);
    for (const name of Object.keys(s)) expect(s[name]?.healthcheck?.test, `${name} health check`).toBeDefined();
    for (const g of ['gateway1', 'gateway2']) {
      const gw = s[g] as Service;
      expect(gw.build).toBeDefined();
      expect(gw.environment?.SWIFTGATE_POSTGRES_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(gw.environment?.SWIFTGATE_S3_ENDPOINT).toBe('http://minio:9000');
      expect(gw.environment?.SWIFTGATE_S3_BUCKET).toBeTruthy();
      expect(gw.environment?.SWIFTGATE_S3_CREATE_BUCKET).toBe('1');
      expect(JSON.stringify(gw.healthcheck?.test)).toContain('/healthcheck');
      expect(gw.depends_on?.postgres?.condition).toBe('service_healthy');
      expect(gw.depends_on?.minio?.condition).toBe('service_healthy');
    }
    expect(s.gateway1?.environment).toEqual(s.gateway2?.environment); // one namespace
    expect(s.lb?.depends_on?.gateway1?.condition).toBe('service_healthy');
    expect(JSON.stringify(s.lb?.volumes)).toContain('nginx.conf');
    expect(Object.keys(doc.volumes ?? {})).toEqual(expect.arrayContaining(['pg-data', 'minio-data']));
    // MinIO's keys are the gateways' keys.
    expect(s.gateway1?.environment?.SWIFTGATE_S3_SECRET_ACCESS_KEY).toBe((s.minio?.environment as Record<string, string>).MINIO_ROOT_PASSWORD);
  });

  it.skipIf(!ok('nginx', ['-v']))('has an nginx config that nginx accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swiftgate-nginx-t-'));
    try {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, nginxConfig(readFileSync(join(REPO, 'deploy', 'nginx.conf'), 'utf8'), [18081, 18082], 18080, dir));
      const r = spawnSync('nginx', ['-t', '-p', dir, '-c', conf, '-g', `pid ${join(dir, 'pid')}; error_log ${join(dir, 'error.log')};`], { encoding: 'utf8' });
      expect(r.stderr).toMatch(/test is successful/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
