import { CasperValidationError, validatePort } from './private/validation';

/**
 * Properties of a Casper network other than mainnet and testnet.
 */
export interface CustomCasperNetworkProps {
  /**
   * The network's chainspec name, as `/status` reports it in `chainspec_name`
   * (for example `casper-test`). Letters, digits, `-` and `_`; 1 to 64 characters.
   */
  readonly chainspecName: string;

  /**
   * The network config file that casper-node-launcher ships in
   * `/etc/casper/network_configs/` and that `node_util.py stage_protocols` reads.
   *
   * @default `<chainspecName>.conf`
   */
  readonly networkConfigFileName?: string;

  /**
   * Whether the network runs Casper 2.x, where JSON-RPC is served by the
   * separate casper-sidecar service instead of the node.
   *
   * @default true
   */
  readonly runsSidecar?: boolean;

  /**
   * The node's gossip (peer-to-peer) port; must be reachable from the internet.
   *
   * @default 35000
   */
  readonly gossipPort?: number;

  /**
   * The node's REST port serving `/status` and `/metrics`.
   *
   * @default 8888
   */
  readonly restPort?: number;

  /**
   * The JSON-RPC port (the sidecar's on 2.x networks, the node's on 1.x).
   *
   * @default 7777
   */
  readonly rpcPort?: number;

  /**
   * The node's server-sent events port.
   *
   * @default 9999
   */
  readonly ssePort?: number;
}

const CHAINSPEC_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const CONFIG_FILE_NAME = /^[A-Za-z0-9_.-]{1,128}\.conf$/;

/**
 * A Casper network the node joins: what the bootstrap needs to install and
 * configure the node, and the ports the security group opens.
 *
 * Use `CasperNetwork.MAINNET`, `CasperNetwork.TESTNET` or `CasperNetwork.custom()`.
 */
export class CasperNetwork {
  /** Casper mainnet (chainspec `casper`, Casper 2.x with the sidecar). */
  public static readonly MAINNET = new CasperNetwork({ chainspecName: 'casper' });

  /** Casper testnet (chainspec `casper-test`, Casper 2.x with the sidecar). */
  public static readonly TESTNET = new CasperNetwork({ chainspecName: 'casper-test' });

  /**
   * Any other network, such as a private network or a future public one.
   * Throws when a property is invalid.
   */
  public static custom(props: CustomCasperNetworkProps): CasperNetwork {
    return new CasperNetwork(props);
  }

  /** Chainspec name reported by `/status` as `chainspec_name`. */
  public readonly chainspecName: string;

  /** File name under `/etc/casper/network_configs/` used to stage protocols. */
  public readonly networkConfigFileName: string;

  /** Whether the network runs Casper 2.x with casper-sidecar serving JSON-RPC. */
  public readonly runsSidecar: boolean;

  /** Gossip port (public). */
  public readonly gossipPort: number;

  /** REST port serving `/status` and `/metrics`. */
  public readonly restPort: number;

  /** JSON-RPC port. */
  public readonly rpcPort: number;

  /** Server-sent events port. */
  public readonly ssePort: number;

  private constructor(props: CustomCasperNetworkProps) {
    const owner = 'CasperNetwork.custom';
    if (typeof props.chainspecName !== 'string' || !CHAINSPEC_NAME.test(props.chainspecName)) {
      throw new CasperValidationError(owner, 'chainspecName', props.chainspecName,
        'must be 1 to 64 characters of letters, digits, "-" or "_" (for example "casper-test")');
    }
    const configFile = props.networkConfigFileName ?? `${props.chainspecName}.conf`;
    if (!CONFIG_FILE_NAME.test(configFile)) {
      throw new CasperValidationError(owner, 'networkConfigFileName', configFile,
        'must be a file name ending in ".conf" without a path (for example "casper-test.conf")');
    }
    this.chainspecName = props.chainspecName;
    this.networkConfigFileName = configFile;
    this.runsSidecar = props.runsSidecar ?? true;
    this.gossipPort = props.gossipPort ?? 35000;
    this.restPort = props.restPort ?? 8888;
    this.rpcPort = props.rpcPort ?? 7777;
    this.ssePort = props.ssePort ?? 9999;

    const ports: Array<[string, number]> = [
      ['gossipPort', this.gossipPort], ['restPort', this.restPort],
      ['rpcPort', this.rpcPort], ['ssePort', this.ssePort],
    ];
    for (const [name, port] of ports) validatePort(owner, name, port);
    const seen = new Map<number, string>();
    for (const [name, port] of ports) {
      const other = seen.get(port);
      if (other) {
        throw new CasperValidationError(owner, name, port, `must differ from ${other}, which uses the same port`);
      }
      if (port === 22) {
        throw new CasperValidationError(owner, name, port, 'port 22 is reserved for SSH');
      }
      seen.set(port, name);
    }
  }
}
