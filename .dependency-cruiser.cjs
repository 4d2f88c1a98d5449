/**
 * The house's import rules (docs/architecture.md), checked by `npm run lint:imports` in CI.
 * Arrows point one way: refresh → tokens → client → signer; tokens → storage; typeorm → storage.
 */
const LIB = '^libs/alipay-auth/src/';
const folder = (names) => `${LIB}(${names.join('|')})/`;
const forbid = (name, comment, from, to, extra = {}) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, pathNot: '\\.spec\\.ts$' },
  to: { path: to, ...extra },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make load order and ownership unclear (type-only links excepted: erased at run time).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    forbid(
      'signer-knows-nothing-above',
      'The signer signs and verifies; it knows no client, token or storage.',
      folder(['signer']),
      folder(['client', 'tokens', 'refresh', 'storage', 'typeorm', 'testing', 'health', 'http', 'authorization', 'telemetry']),
    ),
    forbid(
      'client-knows-no-tokens',
      'The client takes a token string or asks a resolver; it never reaches into tokens or storage.',
      folder(['client']),
      folder(['tokens', 'refresh', 'storage', 'typeorm', 'testing', 'health']),
    ),
    forbid(
      'storage-below-tokens',
      'Storage is the contract tokens build on: it never imports them, the scheduler or an adapter.',
      folder(['storage']),
      folder(['tokens', 'refresh', 'client', 'typeorm', 'testing', 'health', 'http']),
      { dependencyTypesNot: ['dynamic-import'] },
    ),
    forbid(
      'tokens-below-refresh',
      'The scheduler drives tokens, never the other way.',
      folder(['tokens']),
      folder(['refresh', 'testing', 'typeorm', 'health', 'http']),
    ),
    forbid(
      'scheduler-not-up-to-the-facade',
      'The scheduler hands rows to the refresh coordinator, never to the public facade.',
      folder(['refresh']),
      `${LIB}tokens/alipay-token\\.service\\.ts$`,
    ),
    forbid(
      'library-runtime-without-tests',
      'The library never imports an app, a suite or the simulator package (the testing entry starts it lazily).',
      `${LIB}(?!testing/)`,
      '^(apps|test|bench|libs/alipay-simulator)/',
    ),
    forbid('simulator-through-protocol', 'The simulator package depends on the protocol entry only.', '^libs/alipay-simulator/', `${LIB}(?!protocol/|signer/)`),
    forbid('apps-use-packages', 'Apps import the library and the simulator by package name.', '^apps/', '^libs/', {
      dependencyTypesNot: ['aliased-tsconfig-paths', 'aliased-tsconfig'],
    }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
    },
  },
};
