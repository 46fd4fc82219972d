// typescript-eslint type-checked rules (STYLE.md habit 7); module boundaries (habit 1): the folders of src/ in
// one dependency order, enforced below (import-x/no-restricted-paths) with no import cycles (import-x/no-cycle).
// docs/adr/0003-layer-order-by-lint.md says why and what undoing it takes.
import eslint from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The folders of src/, lowest first. A folder may import from the folders of earlier layers and from itself,
 * never from a later layer or from another folder of its own layer. The root files (main.ts, cli.ts,
 * app.module.ts, serve.ts, entities.ts) are above them all. shared/DESIGN.md gives the order as
 * core <- config <- {residency, database, telemetry} <- {auth, models, audit} <- {upstream, metering} <-
 * gateway <- http/app; within its braces this is the order the imports need (database opens its connections
 * through residency's guard and logs through telemetry; auth records audit events and checks models;
 * upstream counts into metering's metrics).
 */
const LAYERS = [
  ['core'],
  ['config'],
  ['residency'],
  ['telemetry'],
  ['database'],
  ['models'],
  ['audit'],
  ['auth'],
  ['metering'],
  ['upstream'],
  ['gateway'],
  ['http'],
  ['reports', 'console', 'health'],
  ['cli'],
];
const ROOT_FILES = './src/*.ts';
const layerZones = LAYERS.flatMap((layer, i) =>
  layer.map((folder) => ({
    target: `./src/${folder}/**`,
    from: [...layer.filter((other) => other !== folder), ...LAYERS.slice(i + 1).flat()]
      .map((above) => `./src/${above}/**`)
      .concat(ROOT_FILES),
    message: `src/${folder} may import only from the layers below it (eslint.config.mjs, LAYERS).`,
  })),
);

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-bench/',
      '.bench-scratch/',
      'data/',
      'node_modules/',
      'coverage/',
      'jest.config.js',
      'test/summary-reporter.js',
      'test/setup/*.js',
      'eslint.config.mjs',
      'scripts/',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // import-x reads the imported files too (for no-cycle): as TypeScript, resolved as tsc resolves them.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // Only our own files can form a cycle; following node_modules too made the rule ~7 times slower.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // Specs are leaves (nothing imports them), so they may reach up, e.g. to a gateway DTO to test the pipe.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      // One typed config object: the environment is read only in src/config.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Inject HunzeConfig instead.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Fakes and tests handle wire bodies of any shape.
      '@typescript-eslint/no-explicit-any': 'off',
      // Fakes switch over the subset of modes they act on; the rest fall through to normal answers.
      '@typescript-eslint/switch-exhaustiveness-check': 'off',
    },
  },
);
