import { CasperNetwork } from '../casper-network';

/** What the node's `config.json` is rendered from. */
export interface NodeConfigInput {
  readonly network: CasperNetwork;
  readonly nodeName: string;
  readonly region: string;
  readonly trustedHash?: string;
  readonly signingKeySecretArn: string;
  readonly cloudWatchAgentConfigParameterName?: string;
  /** CloudWatch namespace of the node metrics; the bootstrap installs the collector only with one (and an agent). */
  readonly metricsNamespace?: string;
  /** Log group the CloudWatch agent ships the metrics' EMF events to. */
  readonly metricsLogGroupName?: string;
  readonly dataVolumeWaitSeconds: number;
  readonly readyWaitSeconds: number;
  readonly restartAfterSeconds: number;
  readonly unhealthyAfterSeconds: number;
}

/** Where the node's data lives; the lifecycle handler and the bootstrap agree on it. */
export const DATA_MOUNT_POINT = '/var/lib/casper/casper-node';

/** The instance tag naming the data volume (the lifecycle/bootstrap contract). */
export const DATA_VOLUME_INSTANCE_TAG = 'casper:data-volume';

/** The open-files limit the Casper docs ask for. */
export const OPEN_FILES_LIMIT = 64000;

/**
 * Renders the node's `config.json`, read by `assets/node/bootstrap.sh`.
 * Keep it in step with the bootstrap's parser.
 */
export function renderNodeConfig(input: NodeConfigInput): { [key: string]: any } {
  return {
    schemaVersion: 1,
    nodeName: input.nodeName,
    region: input.region,
    network: {
      chainspecName: input.network.chainspecName,
      networkConfigFileName: input.network.networkConfigFileName,
      runsSidecar: input.network.runsSidecar,
      restPort: input.network.restPort,
    },
    trustedHash: input.trustedHash ?? '',
    signingKeySecretArn: input.signingKeySecretArn,
    dataVolume: {
      instanceTagKey: DATA_VOLUME_INSTANCE_TAG,
      mountPoint: DATA_MOUNT_POINT,
      deviceWaitSeconds: input.dataVolumeWaitSeconds,
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
    // casper-client links against OpenSSL 1.1, which Ubuntu 22.04 no longer ships.
    libssl11DebUrl: 'http://security.ubuntu.com/ubuntu/pool/main/o/openssl/libssl1.1_1.1.1f-1ubuntu2.24_amd64.deb',
    health: {
      readyWaitSeconds: input.readyWaitSeconds,
      restartAfterSeconds: input.restartAfterSeconds,
      unhealthyAfterSeconds: input.unhealthyAfterSeconds,
    },
  };
}
