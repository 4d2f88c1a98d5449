/**
 * NestJS 12 packages are ESM-only, and Jest loads ESM only in its native ESM mode, so specs run as ESM
 * (ts-jest `useESM`, node --experimental-vm-modules). Builds stay CommonJS: Node >= 20.19 loads the
 * Nest packages through require(esm). Node 24 does not remove the flag: Jest 30.5's own require(esm)
 * (Node >= 24.9) runs on the same VM-module API, which Node still exposes only behind
 * --experimental-vm-modules, and Node 22 (still supported) has no synchronous module evaluation for it.
 * Unit specs sit next to the code; e2e and integration suites live in test/ (library, simulator, package, soak) and each app's own test/ folder.
 */
// Without the flag Jest's own error ("use Node v24.9+") misleads: say what is missing and how to run a file.
if (typeof require('node:vm').SourceTextModule !== 'function') {
  process.stderr.write(
    'The specs run as ES modules, which Jest loads only with NODE_OPTIONS=--experimental-vm-modules: run `npm test -- <path>` (it sets it), or `NODE_OPTIONS=--experimental-vm-modules npx jest <path>`.\n',
  );
  process.exit(1);
}

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', useESM: true }] },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testEnvironment: 'node',
  setupFilesAfterEnv: ['<rootDir>/test/support/quiet-logs.ts'],
  moduleNameMapper: {
    '^nestjs-alipay-auth$': '<rootDir>/libs/alipay-auth/src/index.ts',
    '^nestjs-alipay-auth/(.*)$': '<rootDir>/libs/alipay-auth/src/$1',
    '^nestjs-alipay-auth-simulator$': '<rootDir>/libs/alipay-simulator/src/index.ts',
  },
};
module.exports = {
  // Per-project testTimeout is ignored by Jest; the integration suites need more than 5 s.
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/apps/**/test/**/*.e2e-spec.ts'] },
  ],
};
