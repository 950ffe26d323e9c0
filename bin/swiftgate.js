#!/usr/bin/env node
// Entry point for `npx swiftgate`: sources are TypeScript, run through tsx's loader
// so there is no build step between a checkout and a running gateway.

// Every blob fsync and LevelDB read runs on libuv's threadpool; the default of 4
// threads would queue concurrent uploads' fsyncs behind each other. Must be set
// before the pool's first use.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
