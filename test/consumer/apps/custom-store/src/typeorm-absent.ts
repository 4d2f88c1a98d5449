import { createRequire } from 'node:module';
import { join } from 'node:path';

/** This app runs without TypeORM: fails if typeorm or @nestjs/typeorm resolves from the app or from the library. */
export function assertTypeOrmAbsent(): void {
  const fromApp = createRequire(join(process.cwd(), 'package.json'));
  const fromLibrary = createRequire(fromApp.resolve('nestjs-alipay-auth'));
  for (const name of ['typeorm', '@nestjs/typeorm']) {
    for (const [where, resolver] of [['the app', fromApp], ['nestjs-alipay-auth', fromLibrary]] as const) {
      let found: string | undefined;
      try {
        found = resolver.resolve(name);
      } catch {
        // Not installed: the case this app is for.
      }
      if (found) throw new Error(`${name} resolves from ${where} (${found}): this app must run without it`);
    }
  }
}
