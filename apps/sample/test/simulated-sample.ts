import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSampleApp } from '../src/sample-app';
import { freePort } from '../../../test/support/free-port';

/** The sample in simulation mode (the simulator in its process), listening on a free port, on a temporary SQLite file. */
export interface SimulatedSample {
  app: NestExpressApplication;
  base: string;
  dir: string;
  close(): Promise<void>;
}

/** `host`: the name in `base` (the app listens on loopback either way). Scheduled refreshes off, no retries. */
export async function startSimulatedSample(name: string, host = 'localhost'): Promise<SimulatedSample> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const port = await freePort();
  const app = await createSampleApp({
    logger: false,
    env: { PORT: String(port), ALIPAY_SIMULATOR_PORT: '0', SIMULATION_DATA_DIR: dir, SQLITE_PATH: join(dir, 'sample.sqlite') },
    alipay: { refresh: { enabled: false }, retries: 0 },
  });
  await app.listen(port, '127.0.0.1');
  return {
    app,
    base: `http://${host}:${port}`,
    dir,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
