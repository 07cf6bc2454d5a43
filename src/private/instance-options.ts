import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { checkInstanceType } from './instance-type';
import { readyWaitSeconds } from './node-config';
import { CasperValidationError, Owner, validateDuration, validateInteger, validateSnapshotId } from './validation';
import type { CasperNodeInstanceOptions } from '../compute/casper-node-instance-options';

/** `CasperNodeInstanceOptions` with every default applied and every value checked. */
export interface ValidInstanceOptions {
  readonly instanceType: ec2.InstanceType;
  /** Why the instance type may run the node poorly (the group warns). */
  readonly instanceTypeWarning?: string;
  readonly rootVolumeSizeGiB: number;
  readonly dataVolumeSizeGiB: number;
  readonly dataVolumeIops: number;
  readonly dataVolumeThroughputMibps: number;
  /** Lowercase hex, or undefined to take one from the peers. */
  readonly trustedHash?: string;
  readonly bootstrapTimeout: Duration;
  readonly unresponsiveThreshold: Duration;
  readonly spot: boolean;
  readonly seedSnapshotId?: string;
}

export const DEFAULT_INSTANCE_TYPE = ec2.InstanceType.of(ec2.InstanceClass.M6A, ec2.InstanceSize.XLARGE2);

/**
 * Applies the defaults of `CasperNodeInstanceOptions` and checks every value;
 * throws the first problem, naming `owner`, the prop, the value and what is allowed.
 */
export function validateInstanceOptions(owner: Owner, options: CasperNodeInstanceOptions): ValidInstanceOptions {
  const instanceType = options.instanceType ?? DEFAULT_INSTANCE_TYPE;
  const typeName = instanceType.toString();
  const check = Token.isUnresolved(typeName) ? {} : checkInstanceType(typeName);
  if (check.error) throw new CasperValidationError(owner, 'instanceType', typeName, check.error);

  const dataVolumeIops = validateInteger(owner, 'dataVolumeIops', options.dataVolumeIops ?? 3000, 3000, 16000, 'IOPS');
  const dataVolumeThroughputMibps = validateInteger(owner, 'dataVolumeThroughputMibps', options.dataVolumeThroughputMibps ?? 125, 125, 1000, 'MiB/s');
  if (dataVolumeThroughputMibps > dataVolumeIops / 4) {
    throw new CasperValidationError(owner, 'dataVolumeThroughputMibps', dataVolumeThroughputMibps,
      `gp3 allows at most 0.25 MiB/s per provisioned IOPS: ${Math.floor(dataVolumeIops / 4)} for ${dataVolumeIops} IOPS`);
  }
  if (options.trustedHash !== undefined && !/^[0-9a-fA-F]{64}$/.test(options.trustedHash)) {
    throw new CasperValidationError(owner, 'trustedHash', options.trustedHash, 'must be a block hash of exactly 64 hexadecimal characters');
  }
  if (options.seedSnapshotId !== undefined) validateSnapshotId(owner, 'seedSnapshotId', options.seedSnapshotId);
  return {
    instanceType,
    instanceTypeWarning: check.warning,
    rootVolumeSizeGiB: validateInteger(owner, 'rootVolumeSizeGiB', options.rootVolumeSizeGiB ?? 30, 20, 1024, 'GiB'),
    dataVolumeSizeGiB: validateInteger(owner, 'dataVolumeSizeGiB', options.dataVolumeSizeGiB ?? 500, 100, 16384, 'GiB'),
    dataVolumeIops,
    dataVolumeThroughputMibps,
    // Mixed-case hex is read as checksummed by casper-types: always lowercase.
    trustedHash: options.trustedHash?.toLowerCase(),
    bootstrapTimeout: validateDuration(owner, 'bootstrapTimeout', options.bootstrapTimeout ?? Duration.minutes(90),
      Duration.minutes(30), Duration.hours(12)),
    unresponsiveThreshold: validateDuration(owner, 'unresponsiveThreshold', options.unresponsiveThreshold ?? Duration.minutes(15),
      Duration.minutes(5), Duration.hours(6)),
    spot: options.spot ?? false,
    seedSnapshotId: options.seedSnapshotId,
  };
}

/** The data volume's settings, and where its metrics go, as `DataVolumeLifecycle` takes them. */
export function lifecycleProps(v: ValidInstanceOptions & { readonly metricsNamespace: string }) {
  return {
    metricsNamespace: v.metricsNamespace,
    volumeSizeGiB: v.dataVolumeSizeGiB,
    volumeIops: v.dataVolumeIops,
    volumeThroughputMibps: v.dataVolumeThroughputMibps,
    seedSnapshotId: v.seedSnapshotId,
  };
}

/** The bootstrap's and watchdog's timings in `config.json`, from the time options. */
export function bootstrapTimings(v: ValidInstanceOptions) {
  return {
    readyWaitSeconds: readyWaitSeconds(v.bootstrapTimeout.toSeconds()),
    restartAfterSeconds: v.unresponsiveThreshold.toSeconds(),
    // The watchdog restarts the node first and gives it 10 more minutes.
    unhealthyAfterSeconds: v.unresponsiveThreshold.toSeconds() + 600,
  };
}
