import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { validateInstanceOptions, ValidInstanceOptions } from './instance-options';
import { failFor, isValidEmail, isValidMetricsNamespace, Owner, parseCidr, validateDuration, validateFreePort, validateInteger } from './validation';
import type { CasperNetwork } from '../casper-network';
import type { CasperNodeFleetProps } from '../casper-node-fleet';

/** Fleet names leave room for the member suffix (`-19`) within the 63 characters of a node name. */
const FLEET_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$/;

/** A fleet's default `bootstrapTimeout`. */
export const FLEET_BOOTSTRAP_TIMEOUT = Duration.hours(3);

/** `CasperNodeFleetProps` with every default applied and every value checked. */
export interface ValidFleetProps extends ValidInstanceOptions {
  readonly fleetName: string;
  readonly metricsNamespace: string;
  /** What happens to the stateful resources when they leave the stack (RETAIN by default). */
  readonly removalPolicy: RemovalPolicy;
  readonly nodeCount: number;
  readonly internetFacing: boolean;
  readonly enableSse: boolean;
  readonly tlsCertificate?: acm.ICertificate;
  readonly healthCheckPort: number;
  readonly maxBlockAge: Duration;
  readonly minPeers: number;
  readonly enableBackups: boolean;
  /** Throws unless the VPC's public subnets span enough AZs for the members. */
  checkVpc(vpc: ec2.IVpc): void;
  /** The CIDRs the listeners admit: `allowedCidrs`, or the VPC's. */
  allowedCidrs(vpc: ec2.IVpc): string[];
}

/**
 * Applies the fleet's defaults and checks every prop before the fleet
 * creates anything; throws the first problem, naming `owner`.
 */
export function validateFleetProps(owner: Owner, props: CasperNodeFleetProps): ValidFleetProps {
  const fail = failFor(owner);
  if (!props.network) fail('network', props.network, 'is required: CasperNetwork.MAINNET, CasperNetwork.TESTNET or CasperNetwork.custom(...)');
  const fleetName = props.fleetName ?? `${props.network.chainspecName.toLowerCase().replace(/_/g, '-')}-fleet`;
  if (!FLEET_NAME.test(fleetName)) {
    fail('fleetName', fleetName, 'must be 1 to 60 letters, digits or "-", starting and ending with a letter or digit (members add "-<n>")');
  }
  const metricsNamespace = props.metricsNamespace ?? `casper-${props.network.chainspecName}`;
  if (!isValidMetricsNamespace(metricsNamespace)) {
    fail('metricsNamespace', metricsNamespace, 'must be 1 to 255 characters of letters, digits and . - _ / # : or space, not starting with ":" or "AWS/"');
  }
  const nodeCount = validateInteger(owner, 'nodeCount', props.nodeCount ?? 2, 1, 20);
  // Members start from a snapshot and must catch up to the tip before they
  // signal (they are healthy only in sync): more time than a single node's start.
  const instance = validateInstanceOptions(owner, { ...props, bootstrapTimeout: props.bootstrapTimeout ?? FLEET_BOOTSTRAP_TIMEOUT });

  const internetFacing = props.internetFacing ?? false;
  const cidrs = props.allowedCidrs;
  if (cidrs !== undefined) {
    if (cidrs.length === 0 || cidrs.length > 50) fail('allowedCidrs', cidrs, 'must list from 1 to 50 CIDRs');
    for (const cidr of cidrs) {
      if (Token.isUnresolved(cidr)) continue;
      if (parseCidr(cidr) === undefined) {
        fail('allowedCidrs', cidr, 'each entry must be an IPv4 CIDR such as "203.0.113.0/24" (host bits zero) or an IPv6 CIDR such as "2001:db8::/32"');
      }
    }
  }
  if (internetFacing && cidrs === undefined) {
    fail('allowedCidrs', cidrs, 'is required with internetFacing: true: name who may call the endpoint (for everyone, say so: ["0.0.0.0/0"])');
  }
  if (props.enableTls && !props.tlsCertificate) {
    fail('tlsCertificate', props.tlsCertificate, 'is required with enableTls: true (an ACM certificate for the load balancer\'s TLS listener)');
  }
  if (props.tlsCertificate && !props.enableTls) fail('tlsCertificate', props.tlsCertificate.certificateArn, 'only applies with enableTls: true');

  const healthCheckPort = props.healthCheckPort ?? 8889;
  validateFreePort(owner, 'healthCheckPort', healthCheckPort, nodePorts(props.network));
  const maxBlockAge = validateDuration(owner, 'maxBlockAge', props.maxBlockAge ?? Duration.minutes(10), Duration.minutes(1), Duration.hours(2));
  const minPeers = validateInteger(owner, 'minPeers', props.minPeers ?? 3, 0, 100);
  for (const email of props.alertEmails ?? []) {
    if (typeof email !== 'string' || !isValidEmail(email)) fail('alertEmails', email, 'each entry must be an email address such as "ops@example.com"');
  }
  if (props.alertEmails && props.alertEmails.length > 0 && props.alertTopic) {
    fail('alertEmails', props.alertEmails, 'give either alertEmails or alertTopic, not both (subscribe the addresses to your topic)');
  }

  return {
    ...instance,
    fleetName,
    metricsNamespace,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    nodeCount,
    internetFacing,
    enableSse: props.enableSse ?? false,
    tlsCertificate: props.enableTls ? props.tlsCertificate : undefined,
    healthCheckPort,
    maxBlockAge,
    minPeers,
    enableBackups: props.enableBackups ?? true,
    checkVpc(vpc: ec2.IVpc): void {
      const all = vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC }).availabilityZones;
      // An environment-agnostic stack names its AZs only at deploy time: nothing to check then.
      if (all.some((z) => Token.isUnresolved(z))) return;
      const zones = new Set(all);
      if (nodeCount > 1 && zones.size < 2) {
        fail('vpc', [...zones], `needs public subnets in at least 2 Availability Zones for ${nodeCount} members (one AZ failing must not take every member down)`);
      }
    },
    allowedCidrs(vpc: ec2.IVpc): string[] {
      return cidrs ?? [vpc.vpcCidrBlock];
    },
  };
}

/** The ports a node uses, and SSH: a health endpoint must take another. */
export function nodePorts(network: CasperNetwork): number[] {
  return [network.gossipPort, network.restPort, network.rpcPort, network.ssePort, 22];
}
