import { DynamicModule, Module } from '@nestjs/common';
import { ALIPAY_TYPEORM_STORAGE, AlipayTypeOrmStorage } from '../storage/alipay-typeorm-storage';

// Loads nothing of TypeORM itself: imported by the module's wiring whatever the store, it reaches
// `typeorm-storage.module.ts` (the file that loads `typeorm` and `@nestjs/typeorm`) only through import().

/** The optional peers the TypeORM store needs at run time; the rest of the library never loads them. */
const TYPEORM_PACKAGES = ['typeorm', '@nestjs/typeorm'];

/**
 * The TypeORM package a failed import says is missing (Node's CommonJS and ESM loaders, Jest, bundlers),
 * or undefined for any other failure, which must surface as it is.
 */
export function missingTypeOrmPackage(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(String(message))?.[1] ?? '';
  const name = specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
  return TYPEORM_PACKAGES.includes(name) ? name : undefined;
}

@Module({})
class AlipayTypeOrmUnavailableModule {}

/**
 * The module that provides `ALIPAY_TYPEORM_STORAGE`, imported by a registration that may use the TypeORM
 * store (no `store` in `forRoot`; `forRootAsync`, whose factory decides at run time). Loaded lazily, so
 * `typeorm` and `@nestjs/typeorm` stay optional: without them, a module that says which one is missing.
 * Resolved while Nest scans the modules, before any data source is built, so the entities it registers
 * reach `autoLoadEntities`.
 */
export async function alipayTypeOrmStorageModule(
  dataSourceName?: string,
  load: () => Promise<{ AlipayTypeOrmStorageModule: { forDataSource(name?: string): DynamicModule } }> = () => import('./typeorm-storage.module'),
): Promise<DynamicModule> {
  try {
    return (await load()).AlipayTypeOrmStorageModule.forDataSource(dataSourceName);
  } catch (error) {
    const missingPackage = missingTypeOrmPackage(error);
    if (!missingPackage) throw error;
    const storage: AlipayTypeOrmStorage = { missingPackage };
    return { module: AlipayTypeOrmUnavailableModule, providers: [{ provide: ALIPAY_TYPEORM_STORAGE, useValue: storage }], exports: [ALIPAY_TYPEORM_STORAGE] };
  }
}
