/**
 * The README's quick start and the docs' examples are the consumer suite's own modules and tests,
 * character for character: what users copy is what CI type-checks and runs against the packed package.
 * The quick start's blocks are written into a `nest new` app by the consumer suite itself (run.mjs,
 * app nest12-quickstart); here: they are all there, the README stays short, and the other pages show the
 * other apps' files verbatim.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Jest runs from the repository root (ESM mode has no __dirname).
const root = process.cwd();
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const codeBlocks = (text: string) => [...text.matchAll(/```(?:ts|js|json)\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README and docs examples', () => {
  const readme = read('README.md');
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => read(`docs/${f}`));
  const blocks = [readme, ...docs].flatMap(codeBlocks);
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const files = Object.fromEntries([...quickStart.matchAll(/### `([^`]+)`\n\n(?:[^`\n][^\n]*\n\n)?```ts\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]));

  it('the README is at most 200 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(200);
  });

  it('the quick start gives the install lines and each file of the app, headed by its path', () => {
    expect(Object.keys(files)).toEqual(['src/app.module.ts', 'src/main.ts', 'src/alipay.controller.ts', 'src/alipay.controller.spec.ts']);
    expect(quickStart).toMatch(/not on the npm registry yet/);
    expect(quickStart).toMatch(/npm run pack:lib/);
    // The CommonJS app uses the same controller, so both variants are tested with one text.
    expect(files['src/alipay.controller.ts']).toBe(read('test/consumer/apps/cjs-jest/src/alipay.controller.ts'));
  });

  it.each([
    'test/consumer/apps/cjs-jest/jest.config.cjs',
    'test/consumer/apps/cjs-jest/tsconfig.json',
    'test/consumer/apps/cjs-jest/tsconfig.spec.json',
    'test/consumer/apps/cjs-jest/src/app.module.ts',
    'test/consumer/apps/cjs-jest/src/alipay.controller.ts',
    'test/consumer/apps/cjs-jest/test/alipay.controller.spec.ts',
    'test/consumer/apps/cjs-jest/test/merchants.controller.spec.ts',
    'test/consumer/apps/esm-vitest/test/merchants.controller.test.ts',
    'test/consumer/apps/custom-store/src/app.module.ts',
  ])('shows %s verbatim', (file) => {
    expect(blocks).toContain(read(file));
  });

  it('every page the README links exists', () => {
    for (const [, target] of readme.matchAll(/\]\((docs\/[^)#]+)/g)) expect(() => read(target)).not.toThrow();
  });
});
