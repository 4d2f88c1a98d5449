#!/usr/bin/env node
// `npm run pack:lib`: builds and packs the two packages users install, nestjs-alipay-auth and
// nestjs-alipay-auth-simulator (their prepack builds them), into dist/packages/, and prints the paths.
// Until the packages are on the npm registry these tarballs are how an app installs them
// (`npm install <path>/nestjs-alipay-auth-<version>.tgz`); the consumer suite installs the same files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Packs libs/<dir> into `destination`; returns the tarball's path. */
export function packLibrary(dir, destination) {
  const { name, version } = JSON.parse(readFileSync(join(repo, 'libs', dir, 'package.json'), 'utf8'));
  mkdirSync(destination, { recursive: true });
  execFileSync('npm', ['pack', '--pack-destination', destination, '--silent'], { cwd: join(repo, 'libs', dir), stdio: ['ignore', 'ignore', 'inherit'] });
  return join(destination, `${name}-${version}.tgz`);
}

/** Both packages: `{ library, simulator }` tarball paths. */
export function packAll(destination = join(repo, 'dist/packages')) {
  return { library: packLibrary('alipay-auth', destination), simulator: packLibrary('alipay-simulator', destination) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { library, simulator } = packAll(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`${library}\n${simulator}\n`);
}
