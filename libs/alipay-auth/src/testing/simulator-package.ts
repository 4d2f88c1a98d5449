import type { AlipaySimulator, AlipaySimulatorOptions } from 'nestjs-alipay-auth-simulator';

/**
 * The Alipay simulator is a package of its own and an optional peer dependency of this one: loaded on
 * first use, so the in-memory store and the store contract work without it installed.
 */
export const ALIPAY_SIMULATOR_PACKAGE = 'nestjs-alipay-auth-simulator';

type SimulatorPackage = typeof import('nestjs-alipay-auth-simulator');

/** True when a failed import says the simulator package itself is missing (Node's CommonJS and ESM loaders, Jest, Vitest). */
export function isSimulatorPackageMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(String(message))?.[1] ?? '';
  return specifier === ALIPAY_SIMULATOR_PACKAGE || specifier.startsWith(`${ALIPAY_SIMULATOR_PACKAGE}/`);
}

/** The simulator package, or an error that says to install it. */
export async function loadAlipaySimulator(load: () => Promise<SimulatorPackage> = () => import('nestjs-alipay-auth-simulator')): Promise<SimulatorPackage> {
  try {
    return await load();
  } catch (error) {
    if (!isSimulatorPackageMissing(error)) throw error;
    throw new Error(
      `The Alipay simulator of nestjs-alipay-auth/testing is the package ${ALIPAY_SIMULATOR_PACKAGE}, which is not installed: npm install --save-dev ${ALIPAY_SIMULATOR_PACKAGE}`,
      { cause: error },
    );
  }
}

/** Starts an Alipay simulator in this process (`nestjs-alipay-auth-simulator`'s `startAlipaySimulator`). */
export async function startAlipaySimulator(options?: AlipaySimulatorOptions): Promise<AlipaySimulator> {
  return (await loadAlipaySimulator()).startAlipaySimulator(options);
}
