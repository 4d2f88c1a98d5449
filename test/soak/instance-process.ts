/**
 * The soak's instance processes: compiled once to JavaScript (tsc without type-checking, about 3 s) so a
 * restart boots in about a second, then started, killed with SIGKILL and started again by the runner.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { SoakInstanceConfig } from './soak-instance';

export interface CompiledInstance {
  /** The repository (the instance's working directory: tsconfig-paths reads tsconfig.node.json there). */
  root: string;
  /** The folder tsc emitted into; the package names map there at run time. */
  outDir: string;
  script: string;
  preload: string;
  cleanup(): void;
}

/**
 * Emits soak-instance.ts, skew-clock.ts and the library sources they import under dist/ (node_modules resolves
 * from there); the package names are mapped into that folder when an instance starts (see `SoakProcess.start`).
 */
export function compileSoakInstance(root = process.cwd()): CompiledInstance {
  const name = `soak-${process.pid}-${randomBytes(3).toString('hex')}`;
  const outDir = join(root, 'dist', name);
  const project = join(root, 'dist', `${name}.tsconfig.json`);
  mkdirSync(join(root, 'dist'), { recursive: true });
  const compilerOptions = { noEmit: false, noCheck: true, outDir: name, rootDir: '..', sourceMap: false, declaration: false, incremental: false };
  writeFileSync(
    project,
    JSON.stringify({ extends: '../tsconfig.json', compilerOptions, files: ['../test/soak/soak-instance.ts', '../test/soak/skew-clock.ts'], include: [] }),
  );
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
      stdio: 'inherit',
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  } finally {
    rmSync(project, { force: true });
  }
  return {
    root,
    outDir,
    script: join(outDir, 'test/soak/soak-instance.js'),
    preload: join(outDir, 'test/soak/skew-clock.js'),
    cleanup: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

export type InstanceEvent = Record<string, unknown> & { kind: string; inst: string };

/** One instance "slot" (a, b, c): its current process, if any, and its incarnations. */
export class SoakProcess {
  generation = 0;
  port = 0;
  up = false;
  /** Set before a deliberate stop, so its exit is not taken for a crash. */
  expectExit = false;
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  private readyWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly compiled: CompiledInstance,
    private readonly config: Omit<SoakInstanceConfig, 'seed' | 'name'>,
    readonly skewMs: number,
    private readonly seedOf: (generation: number) => number,
    private readonly onEvent: (e: InstanceEvent) => void,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts an incarnation and resolves once it listens (or rejects when it fails to boot). */
  start(timeoutMs = 60_000): Promise<void> {
    if (this.proc) throw new Error(`${this.name} is running`);
    const generation = ++this.generation;
    const config: SoakInstanceConfig = { ...this.config, name: this.name, seed: this.seedOf(generation) };
    // tsconfig-paths maps the package names (nestjs-alipay-auth, nestjs-alipay-auth/typeorm) into the compiled folder.
    const proc = spawn(process.execPath, ['-r', this.compiled.preload, '-r', 'tsconfig-paths/register', this.compiled.script], {
      cwd: this.compiled.root,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        TS_NODE_PROJECT: 'tsconfig.node.json',
        TS_NODE_BASEURL: this.compiled.outDir,
        SOAK_INSTANCE: JSON.stringify(config),
        SOAK_SKEW_MS: String(this.skewMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let buffered = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let e: InstanceEvent;
        try {
          e = { ...JSON.parse(line), gen: generation };
        } catch {
          e = { kind: 'stdout', inst: this.name, gen: generation, line: line.slice(0, 500) };
        }
        if (e.kind === 'ready' && proc === this.proc) {
          this.port = Number(e.port);
          this.up = true;
          for (const w of this.readyWaiters.splice(0)) w();
        }
        this.onEvent(e);
      }
    });
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      let nl: number;
      while ((nl = stderr.indexOf('\n')) >= 0) {
        const line = stderr.slice(0, nl);
        stderr = stderr.slice(nl + 1);
        if (line.trim()) this.onEvent({ kind: 'stderr', inst: this.name, gen: generation, line: line.slice(0, 500) });
      }
    });
    this.exited = new Promise<void>((resolve) =>
      proc.on('exit', (code, signal) => {
        if (this.proc === proc) {
          this.proc = undefined;
          this.up = false;
        }
        this.onEvent({ kind: 'exit', inst: this.name, gen: generation, code, signal });
        resolve();
      }),
    );
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not become ready in ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      void this.exited!.then(() => {
        clearTimeout(timer);
        if (!this.up) reject(new Error(`${this.name} exited before it was ready`));
      });
    });
  }

  /** kill -9: no shutdown hooks, leases stay held, connections drop. */
  async kill9(): Promise<void> {
    const exited = this.exited;
    if (!this.proc) return;
    this.up = false;
    this.proc.kill('SIGKILL');
    await exited;
  }

  /** Graceful shutdown (the library finishes in-flight work and releases leases); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.proc) return;
    const exited = this.exited;
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), timeoutMs);
    try {
      await this.rpc('/stop', {}, 5_000).catch(() => this.proc?.kill('SIGTERM'));
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A JSON POST to the control port. */
  rpc<T = Record<string, unknown>>(path: string, body: unknown, timeoutMs: number): Promise<T> {
    if (!this.up) return Promise.reject(new Error(`${this.name} is down`));
    const data = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new Error(`${this.name}${path}: answered ${res.statusCode} ${text.slice(0, 100)}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${this.name}${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  }
}
