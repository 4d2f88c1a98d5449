#!/usr/bin/env node
// `npm start`: builds the sample app when its build is missing or older than the sources, then runs it.
// With no Alipay credentials in the environment (or .env) the app starts in LOCAL SIMULATION mode:
// SQLite in ./data and the Alipay simulator in the same process. Extra arguments go to the app
// (`npm start -- migrate` runs the database migrations and exits).
'use strict';

// First, before anything that an old Node could fail on with a misleading error.
require('./node-version-guard').requireSupportedNode(require('node:path').resolve(__dirname, '..'));

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist/apps/sample/apps/sample/src/main.js');
const sourceDirs = ['apps/sample/src', 'libs/alipay-auth/src', 'libs/alipay-simulator/src'].map((d) => path.join(root, d));
const configFiles = ['tsconfig.json', 'apps/sample/tsconfig.app.json', 'nest-cli.json'].map((f) => path.join(root, f));

function newestMtime(target) {
  let newest = 0;
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  for (const name of fs.readdirSync(target)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const t = newestMtime(path.join(target, name));
    if (t > newest) newest = t;
  }
  return newest;
}

function needsBuild() {
  if (!fs.existsSync(entry)) return 'no build found';
  // A production image ships dist/ without sources: nothing to compare, run what is there.
  if (!sourceDirs.some((d) => fs.existsSync(d))) return null;
  const built = fs.statSync(entry).mtimeMs;
  const sources = Math.max(...sourceDirs.map(newestMtime), ...configFiles.map(newestMtime));
  return sources > built ? 'sources changed since the last build' : null;
}

const reason = needsBuild();
if (reason) {
  process.stdout.write(`Building the sample app (${reason}): npx nest build sample\n`);
  const build = spawnSync('npx', ['nest', 'build', 'sample'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (build.status !== 0) {
    process.stderr.write('Build failed; see the errors above.\n');
    process.exit(build.status || 1);
  }
  // nest build only rewrites changed outputs; mark the entry as fresh so the next start skips the build.
  const now = new Date();
  fs.utimesSync(entry, now, now);
}

// Run in this process: signals reach the app directly and shut it down gracefully.
require(entry);
