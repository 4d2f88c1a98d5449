import { isSimulatorPackageMissing, loadAlipaySimulator } from './simulator-package';

const loadError = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('the simulator package', () => {
  it.each([
    [
      "Cannot find module 'nestjs-alipay-auth-simulator'\nRequire stack:\n- /app/node_modules/nestjs-alipay-auth/dist/testing/simulator-package.js",
      'MODULE_NOT_FOUND',
    ],
    [
      "Cannot find package 'nestjs-alipay-auth-simulator' imported from /app/node_modules/nestjs-alipay-auth/dist/esm/testing/simulator-package.js",
      'ERR_MODULE_NOT_FOUND',
    ],
    ["Cannot find module 'nestjs-alipay-auth-simulator' from 'node_modules/nestjs-alipay-auth/dist/testing/simulator-package.js'", 'MODULE_NOT_FOUND'],
  ])('is missing when the loader says so: %s', (message, code) => {
    expect(isSimulatorPackageMissing(loadError(message, code))).toBe(true);
  });

  it('is not missing when something it needs is (that error surfaces as it is)', () => {
    expect(isSimulatorPackageMissing(loadError("Cannot find module 'nestjs-alipay-auth/protocol'", 'MODULE_NOT_FOUND'))).toBe(false);
    expect(isSimulatorPackageMissing(new Error("Cannot find module 'nestjs-alipay-auth-simulator'"))).toBe(false);
    expect(isSimulatorPackageMissing(undefined)).toBe(false);
  });

  it('says which package to install', async () => {
    const missing = loadError("Cannot find module 'nestjs-alipay-auth-simulator'", 'MODULE_NOT_FOUND');
    await expect(loadAlipaySimulator(() => Promise.reject(missing))).rejects.toThrow('npm install --save-dev nestjs-alipay-auth-simulator');
    const other = new SyntaxError('Unexpected token');
    await expect(loadAlipaySimulator(() => Promise.reject(other))).rejects.toBe(other);
  });
});
