// Flat ESLint config: type-aware typescript-eslint, import-x, and the module
// boundaries from docs CONVENTIONS "Layout and boundaries". The boundaries use
// core `no-restricted-imports` (no @nx/eslint-plugin here); flat config does not
// merge a rule's options across blocks, so each folder gets its complete list.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));
const folders = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

const libs = folders('libs');
// Every service name, including ones not created yet, so the ban holds from day one.
const services = [...new Set(['catalog', 'trigger', 'scheduler', 'tenancy', 'audit', 'agent', ...folders('services')])];
// Composition roots: they wire the services together and may import them.
const composers = ['standalone', 'cli'];

// import-x resolves @baton/* to sources (like vitest.config.ts) so no-cycle
// sees through packages without a build, and `./x.js` to `./x.ts`.
const alias = Object.fromEntries(
  [...libs.map((n) => `libs/${n}`), ...folders('services').map((n) => `services/${n}`)]
    .filter((p) => existsSync(join(root, p, 'src/index.ts')))
    .map((p) => [`@baton/${p.split('/')[1]}`, [join(root, p, 'src/index.ts')]]),
);

const oneOf = (names) => names.map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|');

const deepImports = [
  {
    regex: '^@baton/[^/]+/(src|dist)(/|$)',
    message: "Import the package entry point ('@baton/<project>'), not another project's src/ or dist/.",
  },
  {
    regex: '^(\\.\\./)+(libs|services)/[^/]+/(src|dist)(/|$)',
    message: "Import the package entry point ('@baton/<project>'), not another project's files by relative path.",
  },
];
const banServices = (names, message) => (names.length ? [{ regex: `^@baton/(${oneOf(names)})(/|$)`, message }] : []);
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

const boundaries = [
  { files: ['tools/**/*.ts'], rules: restrict(deepImports) },
  {
    files: ['libs/*/src/**/*.ts', 'libs/*/test/**/*.ts'],
    rules: restrict([...deepImports, ...banServices(services, 'Libraries must not import services.')]),
  },
  {
    files: ['libs/domain/src/**/*.ts'],
    rules: restrict([
      ...deepImports,
      {
        regex: '^(node:)?(fs|net|child_process|http|https|http2|dgram|tls)(/|$)',
        message: 'libs/domain is pure logic without I/O; do the I/O in a service or an adapter library.',
      },
      {
        regex: '^(typeorm|mysql2|better-sqlite3|kafkajs|@grpc/grpc-js|@nestjs/[^/]+)(/|$)',
        message: 'libs/domain is pure logic: no database, broker, gRPC or Nest imports.',
      },
      { regex: '^@baton/', message: 'libs/domain depends on no other @baton project.' },
    ]),
  },
  ...folders('services').map((name) => ({
    files: [`services/${name}/src/**/*.ts`, `services/${name}/test/**/*.ts`],
    rules: restrict([
      ...deepImports,
      ...(composers.includes(name)
        ? // standalone and cli compose the services; the CLI may start standalone, not the reverse.
          banServices(name === 'standalone' ? ['cli'] : [], 'standalone must not depend on the CLI.')
        : banServices(
            services.filter((s) => s !== name),
            'A service imports libraries, never another service; share code through libs/*.',
          )),
    ]),
  })),
  {
    // The engine sees agents through engine/agents.ts (AgentDirectory), which the gateway implements.
    files: ['services/scheduler/src/engine/**/*.ts'],
    rules: restrict([
      ...deepImports,
      ...banServices(
        services.filter((s) => s !== 'scheduler'),
        'A service imports libraries, never another service; share code through libs/*.',
      ),
      {
        regex: '(^|/)gateway/',
        message: 'The engine imports nothing from gateway/; use AgentDirectory (engine/agents.ts).',
      },
    ]),
  },
];

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'libs/proto/src/gen/**',
      'web/.next/**',
      'web/out/**',
      'web/next-env.d.ts',
      'web/src/api/openapi.gen.ts',
      'data/**',
      '.nx/**',
      'coverage/**',
      '**/*.mjs',
      '**/*.js',
      '**/*.cjs',
      'vitest.config.ts',
    ],
  },
  {
    files: [
      'libs/*/src/**/*.ts',
      'libs/*/test/**/*.ts',
      'services/*/src/**/*.ts',
      'services/*/test/**/*.ts',
      'tools/**/*.ts',
      'web/**/*.ts',
      'web/**/*.tsx',
    ],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: {
        projectService: {
          // Each project's tsconfig.json leaves out the tests; these files get a
          // default program with the base compiler options. `**` is not allowed here.
          allowDefaultProject: [
            'libs/*/src/*.spec.ts',
            'libs/*/src/*/*.spec.ts',
            'libs/*/src/*/*/*.spec.ts',
            'services/*/src/*.spec.ts',
            'services/*/src/*/*.spec.ts',
            'services/*/src/*/*/*.spec.ts',
            'services/*/test/*.ts',
            'services/*/test/*/*.ts',
            'libs/*/test/*.ts',
            'tools/*.ts',
            'tools/*/*.ts',
          ],
          defaultProject: 'tsconfig.base.json',
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 200,
        },
        tsconfigRootDir: root,
      },
    },
    settings: {
      'import-x/resolver-next': [
        createNodeResolver({
          alias,
          extensions: ['.ts', '.d.ts', '.js', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.d.ts', '.js'] },
          conditionNames: ['types', 'import', 'require', 'node', 'default'],
        }),
      ],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      // `void promise` marks a promise that is deliberately not awaited.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The code writes `xs[i]!` for indexed access as if noUncheckedIndexedAccess were on;
      // without that flag every such `!` is reported. Noise, so off.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `async` methods without `await` implement Promise-returning interfaces; not a bug here.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'package', package: '@types/node', name: ['URL', 'URLSearchParams'] },
          ],
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-default-export': 'error',
    },
  },
  {
    // Tests read JSON answers of the API under test; typing every field would only restate them.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The portal (web/): React and Next.js rules; its own tsconfigs (web/, web/test/) type the files.
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks, '@next/next': nextPlugin },
    settings: {
      next: { rootDir: 'web/' },
      'import-x/resolver-next': [
        createNodeResolver({
          alias: { '@': [join(root, 'web/src')], ...alias },
          extensions: ['.ts', '.tsx', '.d.ts', '.js', '.json'],
          conditionNames: ['types', 'import', 'require', 'browser', 'default'],
        }),
      ],
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs['core-web-vitals'].rules,
    },
  },
  {
    // The portal talks to the platform over HTTP only (DESIGN.md section 3).
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: restrict([
      {
        regex: '^(@nestjs/[^/]+|typeorm|mysql2|better-sqlite3|kafkajs|@grpc/[^/]+|@bufbuild/protobuf)(/|$)',
        message: 'web/ talks to the platform over its REST API only: no Nest, TypeORM, database, Kafka or gRPC.',
      },
      { regex: '^@baton/', message: 'web/ imports no platform code; use the generated REST client (src/api).' },
      { regex: '^node:', message: 'web/src runs in the browser.' },
    ]),
  },
  ...boundaries,
);
