#!/usr/bin/env node
// `npm run release:check`: what a release would publish, checked before anyone publishes it.
//   1. builds the tarballs of nestjs-alipay-auth and nestjs-alipay-auth-simulator (npm run pack:lib);
//   2. runs the consumer suite on exactly those files (fresh apps, npm hoisted and linked; see test/consumer/run.mjs);
//   3. prints what `npm publish` would upload for each (`npm publish --dry-run <tarball>`: no upload, no login);
//   4. names package metadata still missing (a public repository URL, for one, is not invented here).
// Extra arguments go to the consumer suite (e.g. `npm run release:check -- nest12-quickstart`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packAll } from './pack-lib.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (s) => process.stdout.write(`${s}\n`);

log('== 1. tarballs (npm run pack:lib)');
const tarballs = packAll(join(repo, 'dist/packages'));
log(`   ${tarballs.library}\n   ${tarballs.simulator}`);

log('== 2. consumer suite on these tarballs');
execFileSync(process.execPath, [join(repo, 'test/consumer/run.mjs'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ALIPAY_CONSUMER_TARBALLS: `${tarballs.library},${tarballs.simulator}` },
});

log('== 3. what npm publish would upload');
for (const tgz of [tarballs.library, tarballs.simulator]) {
  execFileSync('npm', ['publish', '--dry-run', tgz], { cwd: repo, stdio: 'inherit' });
}

log('== 4. package metadata');
const missing = [];
for (const dir of ['alipay-auth', 'alipay-simulator']) {
  const pkg = JSON.parse(readFileSync(join(repo, 'libs', dir, 'package.json'), 'utf8'));
  for (const field of ['name', 'version', 'description', 'license', 'engines', 'exports', 'files', 'keywords', 'author', 'repository', 'homepage', 'bugs']) {
    if (pkg[field] === undefined) missing.push(`${pkg.name}: "${field}"`);
  }
}
if (missing.length) log(`   not set (fill in once the project has a public home):\n     ${missing.join('\n     ')}`);
else log('   complete');
log('Release check passed: publish nestjs-alipay-auth first (the simulator names it as a peer), then the simulator: `npm publish <tarball>`.');
