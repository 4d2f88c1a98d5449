/**
 * `npm start` on a Node the repository does not support stops at once, with one line naming the versions
 * (package.json "engines"), before building or loading anything. The old Node is played by a preload
 * that rewrites `process.version`: the guard reads nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd(); // Jest runs from the repository root
const guard = createRequire(join(root, 'package.json'))('./scripts/node-version-guard.js') as { satisfies(version: string, range: string): boolean };
const range: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;

function startAs(version: string) {
  const preload = join(mkdtempSync(join(tmpdir(), 'node-guard-')), 'old-node.cjs');
  writeFileSync(preload, `Object.defineProperty(process, 'version', { value: ${JSON.stringify(version)} });\n`);
  return spawnSync(process.execPath, ['-r', preload, join(root, 'scripts/start-sample.js')], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('Node version guard of npm start', () => {
  it('reads the range of package.json "engines"', () => {
    expect(range).toBe('^22.13.0 || >=24.11.0');
  });

  it.each([
    ['v20.19.0', false],
    ['v22.12.0', false],
    ['v22.13.0', true],
    ['v22.23.5', true],
    ['v23.11.0', false],
    ['v24.10.0', false],
    ['v24.11.0', true],
    ['v26.0.0', true],
  ])('%s supported: %s', (version, ok) => {
    expect(guard.satisfies(version, range)).toBe(ok);
  });

  it('stops on Node 20 with one line naming the required versions, before building anything', () => {
    const run = startAs('v20.19.0');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('Node v20.19.0 is not supported: this project needs Node ^22.13.0 or >=24.11.0 (see "engines" in package.json).\n');
  });
});
