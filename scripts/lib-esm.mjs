#!/usr/bin/env node
// Finishes the library's ESM build (dist/esm): Node's ESM loader needs full relative specifiers
// ('./x.js', './dir/index.js'), which tsc does not write for extensionless sources, and a package.json
// saying "module". Jest (ESM mode) and Vitest import Nest 12's ESM-only packages; a CommonJS library
// requiring them from there fails ("Must use import to load ES Module"), so `import` gets this build.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'dist/esm');
if (!existsSync(root)) throw new Error(`${root} does not exist: run tsc -p tsconfig.lib.esm.json first`);

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
  });
}

function full(file, spec) {
  const target = resolve(dirname(file), spec);
  if (existsSync(`${target}.js`)) return `${spec}.js`;
  if (existsSync(join(target, 'index.js'))) return `${spec}/index.js`;
  if (existsSync(target)) return spec;
  throw new Error(`${file}: cannot resolve ${spec}`);
}

// Static `from '...'`, side-effect `import '...'` and dynamic `import('...')` with a relative specifier.
const pattern = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\2/g;
let rewritten = 0;
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(pattern, (_m, lead, quote, spec) => `${lead}${quote}${full(file, spec)}${quote}`);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten++;
  }
}
writeFileSync(join(root, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
console.log(`ESM build: relative specifiers completed in ${rewritten} files under ${root}`);
