import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Unit tests import libraries from their TypeScript sources, not dist/.
const libs = readdirSync(resolve(__dirname, 'libs'));
const alias = Object.fromEntries(libs.map((lib) => [`@baton/${lib}`, resolve(__dirname, `libs/${lib}/src/index.ts`)]));

// Unit tests sit beside the code (src/**/*.spec.ts) and run on TypeScript
// sources. Integration tests (test/**/*.int-spec.ts) start the built
// platform (dist/) as real processes, so `npm test` builds first.
export default defineConfig({
  resolve: { alias },
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } } as never,
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.spec.ts', 'services/*/src/**/*.spec.ts', 'tools/**/*.spec.ts'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['libs/*/test/**/*.int-spec.ts', 'services/*/test/**/*.int-spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // The web portal: unit checks, the generated client's drift test and the browser tests (web/README.md).
        extends: true,
        test: {
          name: 'web',
          include: ['web/test/**/*.spec.ts', 'web/test/**/*.int-spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
