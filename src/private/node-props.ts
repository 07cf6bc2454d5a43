import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { nodePorts } from './fleet-props';
import { validateInstanceOptions, ValidInstanceOptions } from './instance-options';
import { validateSlack } from './slack';
import { describeSshAccess, resolveSshPeers } from './ssh';
import { failFor, isValidEmail, isValidMetricsNamespace, Owner, validateFreePort, validateNodeName } from './validation';
import { knownVpcCidr, validateOpenVpnOptions } from './vpn-options';
import type { CasperReadOnlyNodeProps } from '../casper-read-only-node-props';
import { SshAccess } from '../network/ssh-access';

/** CasperVpc's default CIDR, for checks made before the VPC exists. */
const DEFAULT_VPC_CIDR = '10.0.0.0/16';

/** `CasperReadOnlyNodeProps` with every default applied and every value checked. */
export interface ValidNodeProps extends ValidInstanceOptions {
  readonly nodeName: string;
  readonly metricsNamespace: string;
  /** What happens to the stateful resources when they leave the stack (RETAIN by default). */
  readonly removalPolicy: RemovalPolicy;
  /** Whether SSH is open (an SSH source, or the VPN): the node then gets a key pair. */
  readonly sshOpen: boolean;
  readonly backups: boolean;
  readonly canary: boolean;
  readonly dashboard: boolean;
  readonly vpn: boolean;
  /** The health endpoint, when `healthCheckPort` is given. */
  readonly healthEndpoint?: { readonly port: number; readonly maxBlockAgeSeconds: number; readonly minPeers: number };
}

/**
 * Applies the node's defaults and checks every prop, before the node creates
 * anything; throws the first problem found, naming `owner` (the node and its path).
 */
export function validateNodeProps(owner: Owner, props: CasperReadOnlyNodeProps): ValidNodeProps {
  const fail = failFor(owner);
  if (!props.network) fail('network', props.network, 'is required: CasperNetwork.MAINNET, CasperNetwork.TESTNET or CasperNetwork.custom(...)');
  const nodeName = props.nodeName ?? `${props.network.chainspecName.toLowerCase().replace(/_/g, '-')}-node`;
  validateNodeName(owner, 'nodeName', nodeName);
  const metricsNamespace = props.metricsNamespace ?? `casper-${props.network.chainspecName}`;
  if (!isValidMetricsNamespace(metricsNamespace)) {
    fail('metricsNamespace', metricsNamespace,
      'must be 1 to 255 characters of letters, digits and . - _ / # : or space, not starting with ":" or "AWS/"');
  }
  const instance = validateInstanceOptions(owner, props);

  for (const email of props.alertEmails ?? []) {
    if (typeof email !== 'string' || !isValidEmail(email)) {
      fail('alertEmails', email, 'each entry must be an email address such as "ops@example.com"');
    }
  }
  if (props.alertEmails && props.alertEmails.length > 0 && props.alertTopic) {
    fail('alertEmails', props.alertEmails, 'give either alertEmails or alertTopic, not both (subscribe the addresses to your topic)');
  }
  validateSlack(owner, props.alertSlackWorkspaceId, props.alertSlackChannelId);

  // Checked here too, so a bad SSH source fails before any resource exists.
  const sshPeers = resolveSshPeers(owner, props.sshAccess ?? SshAccess.none(), props.allowSshFromAnywhere ?? false);
  const vpn = props.enableVpn ?? false;
  if (vpn) {
    if (sshPeers.length > 0) {
      fail('sshAccess', describeSshAccess(props.sshAccess!), 'with enableVpn, SSH is open only to the VPN server; leave sshAccess unset');
    }
    // Checked here too, so bad VPN options fail before the VPC exists.
    // (The errors name the VPN server the node would create, at `<node>/Vpn`.)
    const vpnOwner = typeof owner === 'string' ? 'OpenVpnServer' : { name: 'OpenVpnServer', path: owner.path && `${owner.path}/Vpn` };
    validateOpenVpnOptions(props.vpnOptions ?? {}, props.vpc ? knownVpcCidr(props.vpc) : DEFAULT_VPC_CIDR, vpnOwner);
  } else if (props.vpnOptions) {
    fail('vpnOptions', props.vpnOptions, 'only applies with enableVpn: true');
  }
  const canary = props.enableCanary ?? true;
  // The canary checks the status port from the internet: with the port closed it could never pass.
  if (props.publicStatusPort === false && canary) {
    fail('publicStatusPort', false, 'with the canary on (enableCanary, default true), which checks '
      + 'http://<node IP>:8888/status from the internet and could never pass with the port closed: '
      + 'set enableCanary: false, or leave publicStatusPort true');
  }
  if (props.healthCheckPort !== undefined) validateFreePort(owner, 'healthCheckPort', props.healthCheckPort, nodePorts(props.network));
  return {
    ...instance,
    nodeName,
    metricsNamespace,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    sshOpen: sshPeers.length > 0 || vpn,
    backups: props.enableBackups ?? true,
    canary,
    dashboard: props.enableDashboard ?? true,
    vpn,
    // The health endpoint and the alarms agree on what "behind" means.
    healthEndpoint: props.healthCheckPort === undefined ? undefined : {
      port: props.healthCheckPort,
      maxBlockAgeSeconds: (props.alarmThresholds?.maxBlockAge ?? Duration.minutes(10)).toSeconds(),
      minPeers: props.alarmThresholds?.minPeerCount ?? 3,
    },
  };
}
