#!/usr/bin/env node
// Entry point for `npx swiftgate`: sources are TypeScript, run through tsx's loader
// so there is no build step between a checkout and a running gateway.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
