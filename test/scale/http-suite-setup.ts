/**
 * vitest setup for running test/http on the shared backends: every test file gets a
 * fresh PostgreSQL database and its own S3 key prefix, as it gets a fresh data dir on
 * the embedded default, so files running in parallel never see each other's accounts.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const base = process.env.SWIFTGATE_SHARED_PG_URL;
if (base) {
  const db = `sg_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(base);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${db}`;
  process.env.SWIFTGATE_POSTGRES_URL = url.toString();
  process.env.SWIFTGATE_S3_PREFIX = `${db}/`;
}
