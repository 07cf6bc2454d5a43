/**
 * Post-destroy hook of integ.node-defaults.ts and integ.node-vpn.ts (integ-runner runs
 * it in integ/ after `cdk destroy`):
 *
 *   node -r ts-node/register support/cleanup-node.ts <node name>
 *
 * A CasperReadOnlyNode keeps its chain data on purpose: the data-volume lifecycle handler
 * creates the volume, and the lifecycle handler and the snapshot rotation create
 * snapshots, all outside CloudFormation, so destroying the stack leaves them. For a test
 * node that is a 500 GiB gp3 volume (about 40 USD a month) plus snapshots. This deletes
 * every volume and snapshot tagged `casper:node=<node name>` in the current account and
 * region, waiting for the volume to detach and for snapshots that cannot be deleted yet.
 *
 * Region and credentials come from the environment (AWS_REGION, AWS_PROFILE): run
 * integ-runner with the same AWS_REGION as its --parallel-regions. Only node names that
 * start with `integ-` are accepted, so a real node can never be touched. Exits 1 when
 * something is left, which fails the test run so the leftover is noticed.
 */
import {
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  Snapshot,
  Volume,
} from '@aws-sdk/client-ec2';

const WAIT_SECONDS = 30 * 60;
const POLL_SECONDS = 20;

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const log = (message: string) => console.log(`cleanup-node: ${message}`);

async function volumes(ec2: EC2Client, nodeName: string): Promise<Volume[]> {
  const out = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:casper:node', Values: [nodeName] }] }));
  return out.Volumes ?? [];
}

async function snapshots(ec2: EC2Client, nodeName: string): Promise<Snapshot[]> {
  const out = await ec2.send(new DescribeSnapshotsCommand({
    OwnerIds: ['self'],
    Filters: [{ Name: 'tag:casper:node', Values: [nodeName] }],
  }));
  return out.Snapshots ?? [];
}

/** Deletes what can be deleted now; returns how many volumes and snapshots remain. */
async function sweep(ec2: EC2Client, nodeName: string): Promise<number> {
  let left = 0;
  for (const volume of await volumes(ec2, nodeName)) {
    if (volume.State === 'deleting' || volume.State === 'deleted') continue;
    if (volume.State !== 'available') {
      log(`volume ${volume.VolumeId} is ${volume.State}, waiting`);
      left++;
      continue;
    }
    try {
      await ec2.send(new DeleteVolumeCommand({ VolumeId: volume.VolumeId }));
      log(`deleted volume ${volume.VolumeId} (${volume.Size} GiB)`);
    } catch (err) {
      log(`volume ${volume.VolumeId} not deleted yet: ${(err as Error).name}`);
      left++;
    }
  }
  for (const snapshot of await snapshots(ec2, nodeName)) {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot.SnapshotId }));
      log(`deleted snapshot ${snapshot.SnapshotId} (${snapshot.State})`);
    } catch (err) {
      log(`snapshot ${snapshot.SnapshotId} (${snapshot.State}) not deleted yet: ${(err as Error).name}`);
      left++;
    }
  }
  return left;
}

async function main(nodeName: string | undefined): Promise<number> {
  if (!nodeName || !/^integ-[a-z0-9-]+$/.test(nodeName)) {
    log(`refusing node name ${JSON.stringify(nodeName)}: only integ-* test nodes are cleaned up`);
    return 2;
  }
  const ec2 = new EC2Client({});
  const region = await ec2.config.region();
  log(`deleting volumes and snapshots tagged casper:node=${nodeName} in ${region}`);
  const deadline = Date.now() + WAIT_SECONDS * 1000;
  for (;;) {
    const left = await sweep(ec2, nodeName);
    if (left === 0) {
      log('nothing left');
      return 0;
    }
    if (Date.now() > deadline) {
      log(`${left} volume(s)/snapshot(s) tagged casper:node=${nodeName} are left in ${region}: delete them by hand`);
      return 1;
    }
    await sleep(POLL_SECONDS);
  }
}

main(process.argv[2]).then((code) => {
  process.exitCode = code;
}, (err) => {
  log(`failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
