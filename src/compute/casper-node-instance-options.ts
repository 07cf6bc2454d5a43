import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * The instance, its volumes and its start: what every construct that runs
 * Casper nodes (`CasperReadOnlyNode`, `CasperNodeGroup`) takes alike.
 */
export interface CasperNodeInstanceOptions {
  /**
   * The instance type: x86-64 with AVX2 and the SHA extensions, 32 GiB RAM and
   * four physical cores is what Casper asks for.
   *
   * @default m6a.2xlarge (AMD EPYC 3rd gen: 8 vCPU = 4 cores, 32 GiB)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Size of the encrypted gp3 root volume (OS, packages, logs), from 20 to 1024.
   *
   * @default 30
   */
  readonly rootVolumeSizeGiB?: number;

  /**
   * Size of the gp3 data volume holding the chain (`/var/lib/casper/casper-node`).
   * Casper's docs: about 500 GB serves a non-archival node for at least a year.
   * From 100 to 16384.
   *
   * @default 500
   */
  readonly dataVolumeSizeGiB?: number;

  /**
   * Provisioned IOPS of the gp3 data volume, from 3000 to 16000.
   *
   * @default 3000 (gp3 baseline, no extra charge)
   */
  readonly dataVolumeIops?: number;

  /**
   * Throughput of the gp3 data volume in MiB/s, from 125 to 1000 (and at most 0.25 per IOPS).
   *
   * @default 125 (gp3 baseline, no extra charge)
   */
  readonly dataVolumeThroughputMibps?: number;

  /**
   * A recent block hash (64 hex characters) the node trusts when it starts with
   * empty storage: it syncs from that block. Take it from a node you trust:
   * `curl -s http://<node>:8888/status | jq -r .last_added_block_info.hash`.
   * Written lowercase. Ignored once the data volume holds chain storage (the
   * node resumes from its own data).
   *
   * @default - with empty storage, the bootstrap takes the newest block hash that
   * at least two of the network's known peers (from the staged config.toml) report
   * identically, and fails if they never agree
   */
  readonly trustedHash?: string;

  /**
   * How long a new instance may take from launch until `/status` answers
   * steadily (data volume, install, staging protocols, node start). Also the
   * Auto Scaling health check grace period, the creation policy's timeout, and
   * the bootstrap deadline after which an instance that has not finished is
   * reported unhealthy. From 30 minutes to 12 hours.
   *
   * @default Duration.minutes(90)
   */
  readonly bootstrapTimeout?: Duration;

  /**
   * How long `/status` may stay unanswered, after the bootstrap finished,
   * before the node restarts the service; if it still does not answer 10
   * minutes later, the instance marks itself unhealthy and is replaced.
   * From 5 minutes to 6 hours.
   *
   * @default Duration.minutes(15)
   */
  readonly unresponsiveThreshold?: Duration;

  /**
   * Run on Spot capacity: capacity-optimized allocation over several instance
   * types that run the node (x86-64, AVX2, SHA, about 8 vCPU and 32 GiB),
   * `instanceType` first, with capacity rebalancing. An interruption loses no
   * data: the data volume is snapshotted and taken over by the replacement,
   * which then catches up from where the volume stopped.
   *
   * @default false - On-Demand
   */
  readonly spot?: boolean;

  /**
   * An EBS snapshot (`snap-...`) of a Casper data volume of the same network
   * to create the data volume from when there is no volume or snapshot of
   * the node's own (a first deploy): the node starts near the snapshot's
   * block instead of syncing from a trusted hash. Your own data always wins.
   *
   * @default - an empty volume: the node syncs from `trustedHash` (or the peers' newest block)
   */
  readonly seedSnapshotId?: string;
}
