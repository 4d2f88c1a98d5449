#!/usr/bin/env node
// Builds the package in the current folder (libs/alipay-auth or libs/alipay-simulator): `npm run build` there.
// The two packages type-check against each other's sources (the simulator imports nestjs-alipay-auth/protocol;
// the testing kit of nestjs-alipay-auth takes its types from nestjs-alipay-auth-simulator), so each
// tsconfig.lib*.json compiles from libs/ (rootDir ..) into .tsc/, and only this package's own output is
// kept: .tsc/cjs/<package>/src becomes dist (CommonJS and declarations), .tsc/esm/<package>/src becomes
// dist/esm. Imports between the packages stay package names in the output, as users install them.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = process.cwd();
const pkg = basename(here);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const scripts = dirname(fileURLToPath(import.meta.url));

/** Moves an output folder; its source maps' `sources` are relative to where tsc wrote them, so they move too. */
function moveBuild(from, to) {
  const maps = (dir) =>
    readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? maps(join(dir, n)) : n.endsWith('.js.map') ? [join(dir, n)] : []));
  for (const file of maps(from)) {
    const map = JSON.parse(readFileSync(file, 'utf8'));
    const movedDir = dirname(join(to, relative(from, file)));
    map.sources = map.sources.map((s) =>
      relative(movedDir, resolve(dirname(file), s))
        .split('\\')
        .join('/'),
    );
    writeFileSync(file, JSON.stringify(map));
  }
  renameSync(from, to);
}

rmSync(join(here, 'dist'), { recursive: true, force: true });
rmSync(join(here, '.tsc'), { recursive: true, force: true });
try {
  for (const project of ['tsconfig.lib.json', 'tsconfig.lib.esm.json']) {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: here, stdio: 'inherit' });
  }
  const own = (format) => join(here, '.tsc', format, pkg, 'src');
  if (!existsSync(own('cjs'))) throw new Error(`${own('cjs')} was not emitted: is ${here} a package under libs/?`);
  moveBuild(own('cjs'), join(here, 'dist'));
  moveBuild(own('esm'), join(here, 'dist', 'esm'));
} finally {
  rmSync(join(here, '.tsc'), { recursive: true, force: true });
}
execFileSync(process.execPath, [join(scripts, 'lib-esm.mjs'), 'dist/esm'], { cwd: here, stdio: 'inherit' });
