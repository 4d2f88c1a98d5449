import { AlipayAuthError, AlipayStoreUnavailableError } from '../errors/alipay-auth.errors';
import type { AlipayTokenStore } from './alipay-token-store';

/** Nest's lifecycle hooks, passed through as the store has them (or not): a failing hook is the app's to see as it is. */
const LIFECYCLE_HOOKS = new Set(['onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown']);

/** `then`: the store comes out of an async factory and must never look like a promise. */
const UNGUARDED = new Set(['then', 'constructor']);

const guarded = new WeakSet<object>();

/** Argument checks (`TypeError`, `RangeError`) are the caller's bug, and the library's own errors already say what happened. */
function passesThrough(e: unknown): boolean {
  return e instanceof AlipayAuthError || e instanceof TypeError || e instanceof RangeError;
}

function convert(operation: string, e: unknown): unknown {
  return passesThrough(e) ? e : new AlipayStoreUnavailableError(operation, e);
}

/**
 * The store as the library uses it: every method forwards to `store`, and a failure that is not already
 * the library's (a driver's connection error, a TypeORM `QueryFailedError`…) reaches callers as an
 * `AlipayStoreUnavailableError` naming the method, with the original as `cause`. The result is a Proxy of
 * `store`: `instanceof`, extra methods (`reencryptBatch`, `countUnknownKeyRows`…) and properties stay;
 * methods run with `store` itself as `this`, so private fields keep working.
 */
export function guardTokenStore<T extends AlipayTokenStore>(store: T): T {
  if (guarded.has(store)) return store;
  const wrappers = new Map<PropertyKey, { fn: (...args: unknown[]) => unknown; wrapper: (...args: unknown[]) => unknown }>();
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string' || UNGUARDED.has(prop) || prop in Object.prototype) return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (LIFECYCLE_HOOKS.has(prop)) return fn.bind(target);
      const cached = wrappers.get(prop);
      if (cached?.fn === fn) return cached.wrapper;
      const wrapper = function (this: unknown, ...args: unknown[]): unknown {
        let result: unknown;
        try {
          result = fn.apply(this === proxy ? target : this, args);
        } catch (e) {
          throw convert(prop, e);
        }
        if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return result;
        return Promise.resolve(result).catch((e: unknown) => Promise.reject(convert(prop, e)));
      };
      Object.defineProperty(wrapper, 'name', { value: fn.name });
      wrappers.set(prop, { fn, wrapper });
      return wrapper;
    },
    set: (target, prop, value) => Reflect.set(target, prop, value, target),
  });
  guarded.add(proxy);
  return proxy;
}
