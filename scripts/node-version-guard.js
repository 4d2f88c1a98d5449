// The Node versions this repository runs on (package.json "engines"), checked before anything else loads:
// on an older Node the app would fail later with an error that does not say why. Plain ES2015 on purpose,
// so that it parses on any Node that can run npm.
'use strict';

const path = require('node:path');

/** [major, minor, patch] of "v22.13.0" or "22.13.0". */
function parse(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Whether `version` satisfies `range`: alternatives of `^X.Y.Z` or `>=X.Y.Z` joined by `||` (the forms "engines" uses here). */
function satisfies(version, range) {
  const v = parse(version);
  if (!v) return false;
  return range.split('||').some((part) => {
    const p = part.trim();
    const caret = /^\^(\d+\.\d+\.\d+)$/.exec(p);
    if (caret) {
      const min = parse(caret[1]);
      return v[0] === min[0] && compare(v, min) >= 0;
    }
    const atLeast = /^>=\s*(\d+\.\d+\.\d+)$/.exec(p);
    if (atLeast) return compare(v, parse(atLeast[1])) >= 0;
    throw new Error(`Unsupported engines range: ${p}`);
  });
}

/** Stops the process with one line when this Node is not one the repository supports. */
function requireSupportedNode(root) {
  const range = require(path.join(root, 'package.json')).engines.node;
  if (satisfies(process.version, range)) return;
  process.stderr.write(
    `Node ${process.version} is not supported: this project needs Node ${range.replace(/\s*\|\|\s*/g, ' or ')} (see "engines" in package.json).\n`,
  );
  process.exit(1);
}

module.exports = { satisfies, requireSupportedNode };
