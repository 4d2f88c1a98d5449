/**
 * The README's usage and testing examples are the consumer suite's own modules and tests, character for
 * character: what users copy is what CI type-checks and runs against the packed package.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Jest runs from the repository root (ESM mode has no __dirname).
const root = process.cwd();
const read = (p: string) => readFileSync(join(root, p), 'utf8');

describe('README examples', () => {
  const blocks = [...read('README.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

  it.each([
    'test/consumer/apps/cjs-jest/test/merchants.controller.spec.ts',
    'test/consumer/apps/esm-vitest/test/merchants.controller.test.ts',
    'test/consumer/apps/cjs-jest/src/app.module.ts',
    'test/consumer/apps/custom-store/src/app.module.ts',
  ])('shows %s verbatim', (file) => {
    expect(blocks).toContain(read(file));
  });

  it('the Jest example is short enough to copy (at most 15 lines of code)', () => {
    const code = read('test/consumer/apps/cjs-jest/test/merchants.controller.spec.ts')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('import '));
    expect(code.length).toBeLessThanOrEqual(15);
  });
});
