/**
 * Benchmark of the snapshot rotation handler against a local moto server (no AWS):
 * one volume with 5,000 snapshots of the rotation, then one rotation with
 * RETAIN_COUNT 7. Prints the setup time, the EC2 API calls by operation and the
 * wall time of the rotation.
 *
 *   npx ts-node --project test/tsconfig.json scripts/bench-snapshot-rotation.ts [snapshots] [batch]
 *
 * moto ignores MaxResults/NextToken on DescribeSnapshots, so the EC2 client
 * pages moto's answers the way AWS does (1,000 a page; see
 * test/storage/handlers/snapshot-rotation-moto.ts). moto's tag filters cost
 * snapshots × tags per listing, so the wall time here is mostly moto's, not
 * what AWS would take; the call counts are the handler's own.
 */
import { rotateSnapshots } from '../src/storage/handlers/snapshot-rotation';
import {
  allSnapshots,
  cloudwatchClient,
  clockAhead,
  createVolume,
  ec2Client,
  nextSecond,
  rotationTags,
  seedSnapshots,
  testConfig,
} from '../test/storage/handlers/snapshot-rotation-moto';
import { startMoto } from '../test/support/moto';

const SNAPSHOTS = Number(process.argv[2] ?? 5000);
const BATCH = Number(process.argv[3] ?? 50);
const RETAIN = 7;
const SETTLE_MS = 5000; // the handler's default

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function main(): Promise<void> {
  // Without moto's ~5,000 snapshots of public AMIs, which its tag filters would scan too.
  process.env.MOTO_EC2_LOAD_DEFAULT_AMIS = 'false';
  const moto = await startMoto();
  try {
    const ec2 = ec2Client(moto.endpoint);

    const setupStart = Date.now();
    const volumeId = await createVolume(ec2);
    const seeded: string[] = [];
    for (let i = 0; i < SNAPSHOTS; i += 1000) {
      seeded.push(...await seedSnapshots(ec2, volumeId, Math.min(1000, SNAPSHOTS - i), rotationTags(), BATCH));
      console.log(`  seeded ${seeded.length} (${seconds(Date.now() - setupStart)})`);
    }
    const setupMs = Date.now() - setupStart;
    await nextSecond(); // the new snapshot starts in a later second than the seeded ones
    console.log(`setup: ${seeded.length} rotation snapshots of ${volumeId} in batches of ${BATCH}: ${seconds(setupMs)}`);

    const sdkCalls: Record<string, number> = {};
    const logs: string[] = [];
    // Time spent waiting for each operation (overlapping calls add up).
    const busyMs: Record<string, number> = {};
    const client = ec2Client(moto.endpoint, { sdkCalls });
    client.middlewareStack.add((next, context) => async (args) => {
      const op = String(context.commandName).replace(/Command$/, '');
      const start = Date.now();
      try {
        return await next(args);
      } finally {
        busyMs[op] = (busyMs[op] ?? 0) + Date.now() - start;
      }
    }, { step: 'initialize', name: 'benchTimer', priority: 'high' });
    const t0 = Date.now();
    const summary = await rotateSnapshots(testConfig({ retainCount: RETAIN }), {
      ec2: client,
      cloudwatch: cloudwatchClient(moto.endpoint),
      // 15 minutes ahead: the seeded snapshots are not "started within 10 minutes".
      now: clockAhead(15),
      settleMs: SETTLE_MS,
      log: (line) => logs.push(line),
      emit: () => undefined,
    });
    const rotationMs = Date.now() - t0;

    const remaining = (await allSnapshots(moto.endpoint)).length;
    console.log(`rotation (RETAIN_COUNT ${RETAIN}): created ${summary.created.length}, deleted ${summary.deleted.length}, ` +
      `already gone ${summary.alreadyDeleted.length}, deferred ${summary.deferred.length}; ${remaining} snapshots remain`);
    console.log('EC2/CloudWatch API calls by operation (handler count):');
    for (const [op, n] of Object.entries(summary.apiCalls).sort()) {
      console.log(`  ${op.padEnd(18)} ${String(n).padStart(5)}   ${seconds(busyMs[op] ?? 0)} waiting in all`);
    }
    const total = Object.values(summary.apiCalls).reduce((a, b) => a + b, 0);
    console.log(`  ${'total'.padEnd(18)} ${total}`);
    const agrees = JSON.stringify(Object.entries(sdkCalls).sort()) === JSON.stringify(Object.entries(summary.apiCalls).sort());
    console.log(`SDK-level count ${agrees ? 'agrees' : `DIFFERS: ${JSON.stringify(sdkCalls)}`}`);
    console.log(`rotation wall time: ${seconds(rotationMs)} (includes the ${seconds(SETTLE_MS)} settle pause after creating; ` +
      `${seconds(rotationMs - SETTLE_MS)} without it)`);
    if (summary.deleted.length !== SNAPSHOTS + 1 - RETAIN || remaining !== RETAIN) {
      throw new Error(`unexpected result: deleted ${summary.deleted.length}, ${remaining} remain`);
    }
  } finally {
    await moto.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
