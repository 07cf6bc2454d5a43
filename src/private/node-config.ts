import { DATA_VOLUME_INSTANCE_TAG, TAG_MEMBER } from './contract';
import { CasperNetwork } from '../casper-network';

/** What the node's `config.json` is rendered from. */
export interface NodeConfigInput {
  readonly network: CasperNetwork;
  readonly nodeName: string;
  readonly region: string;
  /**
   * The node's public IPv4 (its Elastic IP): written into config.toml by the
   * protocol stager. Empty: the instance's own public IPv4, which the bootstrap
   * reads from instance metadata (fleet members have no Elastic IP).
   */
  readonly publicIp: string;
  readonly trustedHash?: string;
  /**
   * The secret holding the node's signing key. On a fleet member the slot's
   * own secret (`fleet.signingKeySecretArns`) replaces it once the slot is known.
   */
  readonly signingKeySecretArn: string;
  readonly cloudWatchAgentConfigParameterName?: string;
  /** CloudWatch namespace of the node metrics; the bootstrap installs the collector only with one (and an agent). */
  readonly metricsNamespace?: string;
  /** Log group the CloudWatch agent ships the metrics' EMF events to. */
  readonly metricsLogGroupName?: string;
  readonly readyWaitSeconds: number;
  readonly restartAfterSeconds: number;
  readonly unhealthyAfterSeconds: number;
  /**
   * The in-sync health endpoint (`GET /healthz`, `casper-health.py`) for a load balancer.
   * @default - off (port 0): the bootstrap does not install it
   */
  readonly healthEndpoint?: HealthEndpointSettings;
  /**
   * A fleet member (`CasperNodeFleet`): one signing-key secret and one node
   * name per member slot (`casper:member=<slot>`), the same number of each.
   * The bootstrap reads its slot from the instance tag the data-volume
   * lifecycle writes and uses that slot's secret and name.
   * @default - a single node: `signingKeySecretArn` and `nodeName`
   */
  readonly fleet?: FleetMemberSettings;
  /**
   * Send the success signal only once the health endpoint answers 200 (in
   * sync), when the data volume already held chain storage; after a start from
   * empty storage the signal is sent as soon as the node answers. For rolling
   * updates of fleets. Needs `healthEndpoint` with a port.
   * @default false
   */
  readonly signalWhenInSync?: boolean;
}

/** The member slots of a fleet, as `renderNodeConfig` takes them. */
export interface FleetMemberSettings {
  /** The signing-key secret of each slot, by slot. */
  readonly signingKeySecretArns: string[];
  /** The node name (metrics dimension) of each slot, by slot. */
  readonly nodeNames: string[];
}

/**
 * How long the bootstrap waits for the member tag once the data-volume tag is
 * there: the lifecycle writes it first, so only eventual consistency of the
 * instance metadata tags is waited for.
 */
export const MEMBER_TAG_WAIT_SECONDS = 60;

/** What the health endpoint serves on and when it answers 200. */
export interface HealthEndpointSettings {
  /** TCP port of `GET /healthz` on every address of the instance; 0: no endpoint. */
  readonly port: number;
  /** Healthy only while the newest block is younger than this. */
  readonly maxBlockAgeSeconds: number;
  /** Healthy only with at least this many peers. */
  readonly minPeers: number;
}

/** The health endpoint's usual port (beside the REST server's 8888). */
export const HEALTH_ENDPOINT_DEFAULT_PORT = 8889;

/** The health endpoint's block age limit when none is given: ten minutes, many block times. */
export const HEALTH_ENDPOINT_DEFAULT_MAX_BLOCK_AGE_SECONDS = 600;

/** The health endpoint's minimum of peers when none is given. */
export const HEALTH_ENDPOINT_DEFAULT_MIN_PEERS = 3;

/** The `config.json` document `assets/node/bootstrap.sh` reads (its parser checks every key). */
export interface NodeConfigDocument {
  readonly schemaVersion: 2;
  readonly nodeName: string;
  readonly region: string;
  readonly publicIp: string;
  readonly network: {
    readonly chainspecName: string;
    readonly networkConfigFileName: string;
    readonly runsSidecar: boolean;
    readonly restPort: number;
    readonly gossipPort: number;
    readonly ssePort: number;
    readonly rpcPort: number;
  };
  /** Lowercase hex, or '' to take one from the known peers when storage is empty. */
  readonly trustedHash: string;
  readonly trustedHashFromPeers: { readonly minAgreeingPeers: number; readonly attempts: number; readonly intervalSeconds: number };
  readonly signingKeySecretArn: string;
  readonly dataVolume: {
    readonly instanceTagKey: string;
    readonly mountPoint: string;
    readonly tagWaitSeconds: number;
    /** How much longer to wait while the tag says `pending` (a move or restore under way). */
    readonly pendingWaitSeconds: number;
    readonly deviceWaitSeconds: number;
    readonly filesystem: 'ext4';
  };
  readonly cloudWatchAgent: { readonly configParameterName: string };
  readonly metrics: { readonly namespace: string; readonly logGroupName: string };
  readonly openFilesLimit: number;
  readonly aptRepository: { readonly url: string; readonly keyUrl: string; readonly suite: string };
  readonly libssl11Deb: { readonly url: string; readonly sha256: string };
  readonly protocolStaging: { readonly timeoutSeconds: number };
  readonly health: {
    readonly readyWaitSeconds: number;
    readonly readyStableSeconds: number;
    readonly restartAfterSeconds: number;
    readonly unhealthyAfterSeconds: number;
    /** Signal success only once /healthz answers 200, when the volume held chain storage (needs a health endpoint port). */
    readonly signalWhenInSync: boolean;
  };
  /** Port 0: no health endpoint. */
  readonly healthEndpoint: HealthEndpointSettings;
  /** Empty arrays: a single node, not a fleet member. */
  readonly fleet: {
    /** The instance tag holding the member slot (written before the data-volume tag). */
    readonly memberTagKey: string;
    readonly signingKeySecretArns: string[];
    readonly nodeNames: string[];
    readonly memberTagWaitSeconds: number;
  };
}

/** Where the node's data lives; the lifecycle handler and the bootstrap agree on it. */
export const DATA_MOUNT_POINT = '/var/lib/casper/casper-node';


/** The open-files limit the Casper docs ask for. */
export const OPEN_FILES_LIMIT = 64000;

/**
 * The launch hook's heartbeat timeout. An ordinary launch (the volume
 * reattached in place, restored or created) tags the instance well within
 * it; anything that may take longer (waiting for the old instance to let go,
 * a move, a pending snapshot) first tags it `pending`, and the workflow keeps
 * the hook alive with heartbeats.
 */
export const LIFECYCLE_LAUNCH_WORST_CASE_SECONDS = 900;

/**
 * How long the bootstrap waits for the volume tag: the heartbeat timeout
 * plus a margin for EventBridge delivery, the tag reaching instance metadata
 * and one poll interval. Waiting less could fail a launch the lifecycle is
 * still legitimately handling.
 */
export const DATA_VOLUME_TAG_WAIT_SECONDS = LIFECYCLE_LAUNCH_WORST_CASE_SECONDS + 120;

/**
 * How much longer the bootstrap waits while the tag says `pending`: the
 * launch hook's global timeout (100 heartbeat timeouts, at most 48 hours),
 * after which Auto Scaling ends the launch whatever happens.
 */
export const DATA_VOLUME_PENDING_WAIT_SECONDS = Math.min(100 * LIFECYCLE_LAUNCH_WORST_CASE_SECONDS, 172_800);

/** How long the bootstrap waits for the tagged volume's device to appear. */
export const DATA_VOLUME_DEVICE_WAIT_SECONDS = 300;

/** Bound of one protocol staging run (downloads of every published version's archives). */
export const PROTOCOL_STAGING_TIMEOUT_SECONDS = 1800;

/** How long `/status` must keep answering before the node counts as started. */
export const READY_STABLE_SECONDS = 180;

/** What installing packages, the key and the agent may take, besides staging. */
export const INSTALL_BUDGET_SECONDS = 900;

/**
 * libssl1.1 for Casper builds that link against OpenSSL 1.1 (Ubuntu 22.04 no
 * longer ships it): Ubuntu 20.04's security update, verified by the SHA256
 * of focal-updates' Packages index before it is installed.
 */
export const LIBSSL11_DEB = {
  url: 'http://security.ubuntu.com/ubuntu/pool/main/o/openssl/libssl1.1_1.1.1f-1ubuntu2.24_amd64.deb',
  sha256: '7cf39d70a639017d1dd7c8d36daa2258063608688e449fddf40ffdd46f992a78',
};

/**
 * How long the bootstrap waits for `/status` after starting the node: what is
 * left of the bootstrap timeout after the volume waits, the installs and the
 * staging, so the whole bootstrap ends (and fails clearly) before
 * CloudFormation gives up; at least 5 minutes.
 */
export function readyWaitSeconds(bootstrapTimeoutSeconds: number): number {
  const before = DATA_VOLUME_TAG_WAIT_SECONDS + DATA_VOLUME_DEVICE_WAIT_SECONDS + INSTALL_BUDGET_SECONDS + PROTOCOL_STAGING_TIMEOUT_SECONDS;
  return Math.max(300, bootstrapTimeoutSeconds - before);
}

/**
 * Renders the node's `config.json`, read by `assets/node/bootstrap.sh`.
 * Keep it in step with the bootstrap's parser.
 */
export function renderNodeConfig(input: NodeConfigInput): NodeConfigDocument {
  const fleet = input.fleet;
  if (fleet !== undefined) {
    if (fleet.signingKeySecretArns.length === 0) {
      throw new Error('renderNodeConfig: fleet.signingKeySecretArns is empty (one secret per member slot)');
    }
    if (fleet.nodeNames.length !== fleet.signingKeySecretArns.length) {
      throw new Error(`renderNodeConfig: fleet has ${fleet.signingKeySecretArns.length} signing-key secrets but ${fleet.nodeNames.length} node names (one of each per member slot)`);
    }
  }
  const healthPort = input.healthEndpoint?.port ?? 0;
  if (input.signalWhenInSync && healthPort === 0) {
    throw new Error('renderNodeConfig: signalWhenInSync needs the health endpoint (healthEndpoint with a port)');
  }
  return {
    schemaVersion: 2,
    nodeName: input.nodeName,
    region: input.region,
    publicIp: input.publicIp,
    network: {
      chainspecName: input.network.chainspecName,
      networkConfigFileName: input.network.networkConfigFileName,
      runsSidecar: input.network.runsSidecar,
      restPort: input.network.restPort,
      gossipPort: input.network.gossipPort,
      ssePort: input.network.ssePort,
      rpcPort: input.network.rpcPort,
    },
    // Mixed-case hex is read as checksummed by casper-types: always lowercase.
    trustedHash: (input.trustedHash ?? '').toLowerCase(),
    trustedHashFromPeers: { minAgreeingPeers: 2, attempts: 10, intervalSeconds: 15 },
    signingKeySecretArn: input.signingKeySecretArn,
    dataVolume: {
      instanceTagKey: DATA_VOLUME_INSTANCE_TAG,
      mountPoint: DATA_MOUNT_POINT,
      tagWaitSeconds: DATA_VOLUME_TAG_WAIT_SECONDS,
      pendingWaitSeconds: DATA_VOLUME_PENDING_WAIT_SECONDS,
      deviceWaitSeconds: DATA_VOLUME_DEVICE_WAIT_SECONDS,
      filesystem: 'ext4',
    },
    cloudWatchAgent: { configParameterName: input.cloudWatchAgentConfigParameterName ?? '' },
    metrics: { namespace: input.metricsNamespace ?? '', logGroupName: input.metricsLogGroupName ?? '' },
    openFilesLimit: OPEN_FILES_LIMIT,
    aptRepository: {
      url: 'https://repo.casper.network/releases',
      keyUrl: 'https://repo.casper.network/casper-repo-pubkey.gpg',
      suite: 'jammy',
    },
    libssl11Deb: LIBSSL11_DEB,
    protocolStaging: { timeoutSeconds: PROTOCOL_STAGING_TIMEOUT_SECONDS },
    health: {
      readyWaitSeconds: input.readyWaitSeconds,
      readyStableSeconds: READY_STABLE_SECONDS,
      restartAfterSeconds: input.restartAfterSeconds,
      unhealthyAfterSeconds: input.unhealthyAfterSeconds,
      signalWhenInSync: input.signalWhenInSync ?? false,
    },
    healthEndpoint: {
      port: healthPort,
      maxBlockAgeSeconds: input.healthEndpoint?.maxBlockAgeSeconds ?? HEALTH_ENDPOINT_DEFAULT_MAX_BLOCK_AGE_SECONDS,
      minPeers: input.healthEndpoint?.minPeers ?? HEALTH_ENDPOINT_DEFAULT_MIN_PEERS,
    },
    fleet: {
      memberTagKey: TAG_MEMBER,
      signingKeySecretArns: [...(fleet?.signingKeySecretArns ?? [])],
      nodeNames: [...(fleet?.nodeNames ?? [])],
      memberTagWaitSeconds: MEMBER_TAG_WAIT_SECONDS,
    },
  };
}
