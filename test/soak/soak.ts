/*
 * npm run soak -- [--seed N] [--merchants M] [--duration S] [--engine postgres|mariadb|sqlite] [--runs K]
 *                 [--instances 3] [--skew MIN] [--fault-every-ms MS] [--kill-every-ms MS] [--db-kill-every-ms MS]
 *                 [--calls-per-sec N] [--reauth-share X] [--cancel-share X] [--keep-journal]
 * The large, on-demand soak (the CI size runs in test/soak/soak.e2e-spec.ts). Without --seed a random seed is
 * drawn and printed; `--runs K` runs K seeds in a row (seed, seed+1, ...). Exit code 1 when any run fails;
 * each failure prints its journal, the merchants' timelines and the command that replays it.
 */
import { randomInt } from 'node:crypto';
import { isEngineRequired } from '../support/databases';
import { formatReport, runSoak, SoakOptions } from './run-soak';

function parse(argv: string[]): { options: SoakOptions; runs: number } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) args.set(k, inline);
    else if (k === 'keep-journal') args.set(k, 'true');
    else args.set(k, argv[++i]);
  }
  const num = (k: string, d?: number): number | undefined => {
    const v = args.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number`);
    return n;
  };
  const known = [
    'seed',
    'merchants',
    'duration',
    'engine',
    'runs',
    'instances',
    'skew',
    'fault-every-ms',
    'kill-every-ms',
    'db-kill-every-ms',
    'calls-per-sec',
    'reauth-share',
    'cancel-share',
    'keep-journal',
    'settle',
  ];
  for (const k of args.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.join(', ')})`);
  const engine = (args.get('engine') ?? 'postgres').replace(/^mysql$/, 'mariadb');
  if (!['postgres', 'mariadb', 'sqlite'].includes(engine)) throw new Error('--engine must be postgres, mariadb or sqlite');
  return {
    runs: num('runs', 1)!,
    options: {
      seed: num('seed') ?? randomInt(1, 2 ** 31 - 1),
      engine: engine as SoakOptions['engine'],
      merchants: num('merchants', 60)!,
      durationSec: num('duration', 180)!,
      instances: num('instances'),
      skewMinutes: num('skew'),
      faultEveryMs: num('fault-every-ms'),
      killEveryMs: num('kill-every-ms'),
      dbKillEveryMs: num('db-kill-every-ms'),
      callsPerSec: num('calls-per-sec'),
      reauthShare: num('reauth-share'),
      cancelShare: num('cancel-share'),
      settleSec: num('settle'),
      keepJournal: args.get('keep-journal') === 'true',
    },
  };
}

async function main() {
  const { options, runs } = parse(process.argv.slice(2));
  // The engine named on the command line is required, as ALIPAY_TEST_DATABASES would make it.
  process.env.ALIPAY_TEST_DATABASES ??= options.engine;
  if (!isEngineRequired(options.engine)) throw new Error(`engine ${options.engine} is not required`);
  const failed: string[] = [];
  for (let i = 0; i < runs; i++) {
    const o = { ...options, seed: options.seed + i };
    try {
      const report = await runSoak(o);
      console.log(formatReport(report));
      if (!report.ok) failed.push(report.replay);
    } catch (e) {
      console.error(`soak seed=${o.seed} could not run: ${e instanceof Error ? e.stack : String(e)}`);
      failed.push(`(error) seed ${o.seed}`);
    }
  }
  if (failed.length) {
    console.log(`\n${failed.length} of ${runs} soak run(s) failed; replay with:\n  ${failed.join('\n  ')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(2);
});
