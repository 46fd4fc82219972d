// typescript-eslint type-checked rules (STYLE.md habit 7); module boundaries (habit 1) via no-restricted-imports.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

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
