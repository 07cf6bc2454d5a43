/**
 * `npm run bench`: how long synthesizing the default node app takes, against a
 * baseline app that holds only a plain `ec2.Vpc`. Each run is a fresh Node.js
 * process that loads the compiled library (lib/, so run `npx projen compile`
 * first) and aws-cdk-lib, then times building the app and `app.synth()`;
 * the process's whole wall time is reported too. Runs alternate between the
 * two apps; the medians and their ratio are printed. Not a test: timings
 * depend on the machine.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** Child program: build one app, synth it, print the in-process milliseconds. */
const CHILD = `
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const lib = require(${JSON.stringify(path.join(ROOT, 'lib'))});
const kind = process.argv[1];
const outdir = process.argv[2];
const t0 = process.hrtime.bigint();
const app = new App({ outdir });
const stack = new Stack(app, 'Bench');
if (kind === 'node') {
  new lib.CasperReadOnlyNode(stack, 'Node', { network: lib.CasperNetwork.TESTNET, nodeName: 'testnet-reader' });
} else {
  new ec2.Vpc(stack, 'Vpc');
}
app.synth();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ ms }));
`;

interface Sample { readonly synthMs: number; readonly processMs: number }

function runOnce(kind: 'node' | 'vpc'): Sample {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${kind}-`));
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', CHILD, kind, outdir], { cwd: ROOT, encoding: 'utf8' });
  const processMs = Number(process.hrtime.bigint() - start) / 1e6;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`synth of ${kind} failed: ${r.stderr}`);
  return { synthMs: JSON.parse(r.stdout).ms, processMs };
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function main(): void {
  if (!fs.existsSync(path.join(ROOT, 'lib', 'index.js'))) {
    throw new Error('lib/ is missing: run `npx projen compile` first');
  }
  const samples: Record<'node' | 'vpc', Sample[]> = { node: [], vpc: [] };
  runOnce('vpc'); // warm the file system cache; not counted
  for (let i = 0; i < RUNS; i++) {
    samples.vpc.push(runOnce('vpc'));
    samples.node.push(runOnce('node'));
  }
  const row = (kind: 'node' | 'vpc') => ({
    synth: median(samples[kind].map((x) => x.synthMs)),
    process: median(samples[kind].map((x) => x.processMs)),
  });
  const node = row('node');
  const vpc = row('vpc');
  console.log(`synth benchmark: ${RUNS} runs each, alternating, fresh process per run (${os.cpus()[0]?.model ?? 'cpu'}, Node.js ${process.version})`);
  console.log('| app | median synth (build + app.synth()) | median process wall time |');
  console.log('|---|---|---|');
  console.log(`| baseline: plain ec2.Vpc | ${vpc.synth.toFixed(0)} ms | ${vpc.process.toFixed(0)} ms |`);
  console.log(`| default CasperReadOnlyNode (testnet) | ${node.synth.toFixed(0)} ms | ${node.process.toFixed(0)} ms |`);
  console.log(`ratio node/baseline: synth ${(node.synth / vpc.synth).toFixed(2)}x, process ${(node.process / vpc.process).toFixed(2)}x`);
}

if (require.main === module) {
  main();
}
