import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'coverage/**', 'test-output/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Specs read the official SDK's JSON vectors, which are untyped on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['libs/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // The simulator is a package of its own: the library reaches it only through nestjs-alipay-auth/protocol.
    files: ['libs/alipay-simulator/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'nestjs-alipay-auth', message: 'Import the protocol entry: nestjs-alipay-auth/protocol.' }],
          patterns: [
            { regex: '^nestjs-alipay-auth/(?!protocol$)', message: 'Import the protocol entry: nestjs-alipay-auth/protocol.' },
            { regex: '^\\.\\./', message: 'The simulator reaches the library only through nestjs-alipay-auth/protocol.' },
          ],
        },
      ],
    },
  },
  {
    // Apps, suites, benchmarks and scripts use the packages by name (the path mappings), never their sources by path.
    files: ['apps/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)libs/|/apps/alipay-simulator/', message: 'Import nestjs-alipay-auth, its entries or nestjs-alipay-auth-simulator by name.' },
          ],
        },
      ],
    },
  },
);
