// Nest 12 is ESM-only: Jest runs specs in its native ESM mode (NODE_OPTIONS=--experimental-vm-modules).
module.exports = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', useESM: true }] },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
};
