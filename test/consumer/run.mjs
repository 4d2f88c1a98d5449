#!/usr/bin/env node
/**
 * Consumer suite: what users install, tested as users run it. Packs the library and the simulator package
 * (nestjs-alipay-auth-simulator, which the testing kit starts; their prepack builds them), then for each
 * app below creates a fresh Nest 12 project in a temporary folder, installs the tarballs with npm (hoisted,
 * and `--install-strategy=linked` as pnpm lays packages out), type-checks it with `skipLibCheck: false`,
 * runs its compiled build under plain Node, and runs its test with its runner.
 *   cjs-jest      CommonJS app, Jest (ESM mode), no @nestjs/event-emitter installed (optional peer);
 *                 its AppModule is the README's TypeORM set-up (nestjs-alipay-auth/typeorm)
 *   esm-vitest    ESM app ("type": "module", nodenext), Vitest, with @nestjs/event-emitter
 *   custom-store  cjs-jest's app with a store of its own (its files replace or add to cjs-jest's), and
 *                 neither typeorm nor @nestjs/typeorm installed (optional peers with a custom store)
 * Versions are the monorepo's own (package.json), so `npm ci` has already put every tarball in the npm
 * cache: installs run --prefer-offline and reach nothing but the npm registry, if anything.
 * Usage: node test/consumer/run.mjs [app-name|strategy ...]   (KEEP=1 keeps the temp folders)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packAll } from '../../scripts/pack-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const rootPkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
const pinned = { ...rootPkg.dependencies, ...rootPkg.devDependencies };
/** The monorepo's version of a package: its own dependency, or what its lock file resolved. */
const version = (name) => {
  const v = pinned[name] ?? lock.packages[`node_modules/${name}`]?.version;
  if (!v) throw new Error(`${name} is not in the monorepo's lock file: add it there so npm ci caches it`);
  return v;
};

const nest = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/axios', '@nestjs/schedule', 'axios', 'reflect-metadata', 'rxjs'];
const typeorm = ['@nestjs/typeorm', 'typeorm'];
const jestApp = {
  type: 'commonjs',
  // @standard-schema/spec: @nestjs/core's declarations import it without declaring it; a linked install
  // (no hoisting) would otherwise fail the `skipLibCheck: false` type-check on Nest's own files.
  dev: [
    '@nestjs/testing',
    'typescript',
    '@types/node',
    'jest',
    'ts-jest',
    '@types/jest',
    '@standard-schema/spec',
    'supertest',
    '@types/supertest',
    '@types/express',
  ],
  test: ['npx', ['jest', '--ci']],
  env: { NODE_OPTIONS: '--experimental-vm-modules' },
};
const apps = {
  'cjs-jest': {
    ...jestApp,
    deps: [...nest, ...typeorm],
    // Optional peers left out: the library must load and work without them.
    absent: ['@nestjs/event-emitter'],
  },
  'custom-store': {
    ...jestApp,
    base: 'cjs-jest',
    deps: nest,
    absent: [...typeorm, '@nestjs/event-emitter'],
  },
  // The README's quick start: an app as Nest 12's CLI makes it (`nest new`: ESM, nodenext, Vitest), the
  // README's install line, and each quick start block written verbatim into the file it is headed by.
  'nest12-quickstart': {
    scaffold: true,
    test: ['npm', ['test']],
    build: ['npx', ['nest', 'build']],
    env: {},
  },
  'esm-vitest': {
    type: 'module',
    deps: [...nest, ...typeorm, '@nestjs/event-emitter'],
    dev: ['@nestjs/testing', 'typescript', '@types/node', 'vitest', '@standard-schema/spec'],
    test: ['npx', ['vitest', 'run']],
    env: {},
  },
};
const strategies = ['hoisted', 'linked'];

const args = process.argv.slice(2);
/** Each dimension (app, strategy) is filtered only when an argument names one of its values. */
const pick = (values) => (args.some((a) => values.includes(a)) ? values.filter((v) => args.includes(v)) : values);
const work = mkdtempSync(join(tmpdir(), 'alipay-consumer-'));
const log = (s) => process.stdout.write(`${s}\n`);

function run(cmd, args, cwd, env = {}) {
  log(`  $ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, ...env } });
}

/**
 * The README's Quick start, parsed: the packages its install lines name, and each `### \`path\`` heading's
 * code block (the whole file at that path).
 */
function quickStart() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const install = /```bash\n([\s\S]*?)```/.exec(section)[1];
  const packages = { dependencies: [], devDependencies: [] };
  for (const line of install.split('\n')) {
    const words = line.replace(/#.*/, '').trim().split(/\s+/);
    if (words[0] !== 'npm' || words[1] !== 'install') continue;
    const dev = words.includes('-D');
    for (const w of words.slice(2).filter((w) => !w.startsWith('-'))) (dev ? packages.devDependencies : packages.dependencies).push(w);
  }
  const files = [...section.matchAll(/### `([^`]+)`\n\n(?:[^`\n][^\n]*\n\n)?```ts\n([\s\S]*?)```/g)].map((m) => ({ path: m[1], text: m[2] }));
  if (files.length < 4) throw new Error(`README quick start: expected its file blocks, found ${files.length}`);
  return { packages, files };
}

/**
 * `nest new` (the monorepo's @nestjs/cli, offline: --skip-install) in `dir`, then the quick start on top.
 * Dev dependencies of the scaffold that the monorepo's lock does not hold (so the npm cache lacks them)
 * are dropped: linters, coverage, and vite-tsconfig-paths, whose plugin only resolves tsconfig path
 * aliases, of which the scaffold declares none.
 */
function scaffoldQuickStart(dir, tarball, simulatorTarball) {
  const parent = dirname(dir);
  const name = dir.slice(parent.length + 1);
  run(process.execPath, [join(repo, 'node_modules/@nestjs/cli/bin/nest.js'), 'new', name, '--skip-install', '--skip-git', '--package-manager', 'npm'], parent);
  const { packages, files } = quickStart();
  const pkgFile = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (pkg.type !== 'module') throw new Error('nest new no longer makes an ESM app: the quick start targets one');
  const resolveSpec = (w) =>
    w.endsWith('nestjs-alipay-auth-simulator-0.1.0.tgz')
      ? [`nestjs-alipay-auth-simulator`, `file:${simulatorTarball}`]
      : w.endsWith('.tgz')
        ? ['nestjs-alipay-auth', `file:${tarball}`]
        : [w, version(w)];
  for (const kind of ['dependencies', 'devDependencies']) {
    const pinnedOrDropped = Object.keys(pkg[kind]).flatMap((d) => {
      try {
        return [[d, version(d)]];
      } catch {
        log(`   (scaffold's ${d} left out: not in the monorepo's lock)`);
        return [];
      }
    });
    pkg[kind] = Object.fromEntries([...pinnedOrDropped, ...packages[kind].map(resolveSpec)]);
  }
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  for (const config of ['vitest.config.ts', 'vitest.config.e2e.ts']) {
    const file = join(dir, config);
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text
        .replace(/^import tsconfigPaths.*\n/m, '')
        .replace(/^.*\/\/.*path aliases.*\n.*\n/m, '')
        .replace(/^\s*plugins: \[tsconfigPaths\(\)\],\n/m, ''),
    );
  }
  for (const f of files) {
    log(`   README block -> ${f.path}`);
    writeFileSync(join(dir, f.path), f.text);
  }
}

let passed = 0;
let failed = 0;
try {
  // The tarballs `npm run pack:lib` makes, as the README's install story tells users to build them.
  // The release check packs once and passes its tarballs (ALIPAY_CONSUMER_TARBALLS="<library>,<simulator>").
  const given = process.env.ALIPAY_CONSUMER_TARBALLS?.split(',');
  if (!given) log('== packing nestjs-alipay-auth and nestjs-alipay-auth-simulator (npm run pack:lib)');
  const { library: tarball, simulator: simulatorTarball } = given ? { library: given[0], simulator: given[1] } : packAll(work);
  log(`   ${tarball}\n   ${simulatorTarball}`);

  for (const name of pick(Object.keys(apps))) {
    const app = apps[name];
    for (const strategy of pick(strategies)) {
      const dir = join(work, `${name}-${strategy}`);
      log(`== ${name}, npm ${strategy}`);
      try {
        if (app.scaffold) {
          scaffoldQuickStart(dir, tarball, simulatorTarball);
          run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `--install-strategy=${strategy}`], dir);
          run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], dir);
          run(app.build[0], app.build[1], dir);
          run(app.test[0], app.test[1], dir, app.env);
          passed++;
          log(`   ok: ${name}, ${strategy}`);
          continue;
        }
        if (app.base) cpSync(join(here, 'apps', app.base), dir, { recursive: true });
        cpSync(join(here, 'apps', name), dir, { recursive: true });
        const pkg = {
          name: `consumer-${name}`,
          private: true,
          type: app.type,
          dependencies: Object.fromEntries([['nestjs-alipay-auth', `file:${tarball}`], ...app.deps.map((d) => [d, version(d)])]),
          devDependencies: Object.fromEntries([['nestjs-alipay-auth-simulator', `file:${simulatorTarball}`], ...app.dev.map((d) => [d, version(d)])]),
        };
        writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
        run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `--install-strategy=${strategy}`], dir);
        for (const absent of app.absent ?? []) {
          const present = execFileSync('npm', ['ls', absent, '--all', '--parseable'], { cwd: dir, encoding: 'utf8' }).trim();
          if (present) throw new Error(`${absent} got installed (${present}): the case needs it absent`);
        }
        run('npx', ['tsc', '-p', 'tsconfig.json'], dir);
        run('node', ['dist/src/check.js'], dir);
        run(app.test[0], app.test[1], dir, app.env);
        passed++;
        log(`   ok: ${name}, ${strategy}`);
      } catch (e) {
        failed++;
        log(`   FAILED: ${name}, ${strategy}: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
      }
    }
  }
} finally {
  if (process.env.KEEP) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
log(`consumer: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
