/**
 * The contract between the constructs, the Lambda handlers, the instance
 * scripts and the tests: tag keys and values, the data volume's device name,
 * the VPN server's config.env.
 * No AWS SDK or CDK imports, so handlers bundle it without pulling either in.
 */

/** Every volume, snapshot, instance, group and Elastic IP of a node carries `casper:node=<node name>`. */
export const TAG_NODE = 'casper:node';
/** `casper:role=data` marks the node's data volumes and their snapshots. */
export const TAG_ROLE = 'casper:role';
export const ROLE_DATA = 'data';
/** Who made a volume or snapshot: `lifecycle` or `snapshot-rotation`. */
export const TAG_CREATED_BY = 'casper:created-by';
export const CREATED_BY_LIFECYCLE = 'lifecycle';
/** Why the lifecycle made a snapshot: `termination` or `move`. */
export const TAG_REASON = 'casper:reason';
/** The volume a snapshot was taken from (lifecycle snapshots). */
export const TAG_SOURCE_VOLUME = 'casper:source-volume';
/** The snapshot a volume was restored from. */
export const TAG_SOURCE_SNAPSHOT = 'casper:source-snapshot';
/** The instance a volume was last attached to, or a termination snapshot came from. */
export const TAG_INSTANCE = 'casper:instance';
/** When the lifecycle last attached a volume (ISO 8601). */
export const TAG_ATTACHED_AT = 'casper:attached-at';
/** How many launches have tried to move a volume through this move snapshot. */
export const TAG_MOVE_ATTEMPTS = 'casper:move-attempts';

/** The instance tag naming the attached data volume; the bootstrap waits for it. */
export const DATA_VOLUME_INSTANCE_TAG = 'casper:data-volume';
/** Value of that tag while a long move or restore is under way: the bootstrap keeps waiting. */
export const DATA_VOLUME_PENDING = 'pending';
/** The device the data volume is attached as. */
export const DATA_VOLUME_DEVICE = '/dev/sdf';

/**
 * Fleets (`CasperNodeFleet`): every data volume of a fleet belongs to one
 * member slot, `casper:member=<0..nodeCount-1>`; the slot names the member's
 * signing key and metrics. The lifecycle writes the slot of the volume it
 * attaches onto the instance, as this tag, before `casper:data-volume`, so the
 * bootstrap finds both once the volume tag appears.
 */
export const TAG_MEMBER = 'casper:member';
/** The most member slots a fleet's lifecycle serves (`memberSlots`, MEMBER_SLOTS). */
export const MAX_MEMBER_SLOTS = 20;
/**
 * Fleets: the member slot an instance claims while its launch is under way
 * (`casper:member-claim=<slot>`). Instances launching at once settle on
 * distinct slots through it: the lower instance id keeps a contested slot,
 * and a slot already written as `casper:member` is taken.
 */
export const TAG_MEMBER_CLAIM = 'casper:member-claim';

/**
 * The VPN server's `config.env` (`/etc/casper-vpn/config.env`), which
 * `src/assets/vpn/setup.sh` reads (see its header): one `NAME=value` per line.
 * The keys are the file's names, so renaming one breaks every writer at compile
 * time. Values may be CDK tokens (they resolve in the user data).
 */
export interface VpnConfigEnv {
  /** AWS region of the secrets, such as `us-east-1`. */
  readonly REGION: string;
  /** The UDP port; setup.sh uses 1194 when the line is absent. */
  readonly VPN_PORT?: number;
  /** The tunnel network, an IPv4 CIDR such as `10.8.0.0/24`. */
  readonly VPN_NETWORK: string;
  /** The VPC network, pushed to clients and NATed, such as `10.0.0.0/16`. */
  readonly VPC_CIDR: string;
  /** The address clients connect to (the Elastic IP). */
  readonly PUBLIC_ADDRESS: string;
  /** ARN of the secret holding the PKI (or its placeholder). */
  readonly PKI_SECRET_ARN: string;
  /** The client names, written space-separated. */
  readonly CLIENT_NAMES: readonly string[];
  /** ARNs of the clients' profile secrets, in the order of `CLIENT_NAMES`. */
  readonly CLIENT_SECRET_ARNS: readonly string[];
}

/** The order setup.sh's header documents, and the user data has always written. */
const VPN_CONFIG_KEYS: ReadonlyArray<keyof VpnConfigEnv> = [
  'REGION', 'VPN_PORT', 'VPN_NETWORK', 'VPC_CIDR', 'PUBLIC_ADDRESS', 'PKI_SECRET_ARN', 'CLIENT_NAMES', 'CLIENT_SECRET_ARNS',
];

/**
 * The lines of `config.env`: scalars as `KEY=value`, lists as `KEY="a b c"`,
 * an absent optional key left out. The VPN server's user data writes exactly
 * these lines (it replaces the instance when they change), so the format is
 * frozen. Throws for a value that would break the file: a line break, or a list
 * entry that is empty or holds whitespace or `"`.
 */
export function renderVpnConfigEnv(config: VpnConfigEnv): string[] {
  const lines: string[] = [];
  for (const key of VPN_CONFIG_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') {
      if (/[\r\n]/.test(String(value))) throw new Error(`config.env: ${key} must be one line, got ${JSON.stringify(value)}`);
      lines.push(`${key}=${value}`);
    } else {
      for (const entry of value) {
        if (!/^[^\s"]+$/.test(entry)) throw new Error(`config.env: each ${key} entry must be non-empty without whitespace or '"', got ${JSON.stringify(entry)}`);
      }
      lines.push(`${key}="${value.join(' ')}"`);
    }
  }
  return lines;
}

/** Which volumes `SnapshotRotation` backs up for a node or fleet: its data volumes. */
export interface DataVolumeSelector {
  readonly volumeTagKey: string;
  readonly volumeTagValue: string;
  /** `key=value`, as `SnapshotRotationProps.volumeRoleTag` takes it. */
  readonly volumeRoleTag: string;
}

/** The data volumes of the node (or fleet) named `nodeName`: `casper:node=<nodeName>` and `casper:role=data`. */
export function dataVolumesOf(nodeName: string): DataVolumeSelector {
  return { volumeTagKey: TAG_NODE, volumeTagValue: nodeName, volumeRoleTag: `${TAG_ROLE}=${ROLE_DATA}` };
}
