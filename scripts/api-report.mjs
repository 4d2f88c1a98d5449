// The public API of every entry point, recorded in libs/alipay-auth/api/*.api.md by API Extractor.
// CI runs it without --local: a surface that differs from the reviewed report fails the build.
// After a deliberate change: npm run build:lib && npm run api:update, and commit the reports.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = join(dirname(fileURLToPath(import.meta.url)), '..', 'libs', 'alipay-auth');
const local = process.argv.includes('--local');
const configs = readdirSync(join(lib, 'config')).filter((f) => /^api-extractor\.(?!base\.).+\.json$/.test(f));
let failed = false;
for (const config of configs) {
  const args = ['api-extractor', 'run', '-c', join(lib, 'config', config), ...(local ? ['--local'] : [])];
  const r = spawnSync('npx', args, { stdio: 'inherit', cwd: lib });
  if (r.status !== 0) failed = true;
}
if (failed) {
  console.error(
    local ? 'API report update failed' : 'The public API changed: review it, then run npm run build:lib && npm run api:update and commit libs/alipay-auth/api/',
  );
  process.exit(1);
}
