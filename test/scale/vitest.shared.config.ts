/** The repository's vitest settings plus a fresh database per test file (http-suite-setup.ts). */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL('../../', import.meta.url)),
    test: { setupFiles: ['test/scale/http-suite-setup.ts'] },
  }),
);
