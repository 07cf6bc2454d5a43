import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { failFor, ipv4CidrsOverlap, Owner, parseCidr, parseIpv4Cidr, validateInteger, validatePort } from './validation';
import type { OpenVpnServerOptions } from '../network/open-vpn-server';

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** OpenVpnServer options after validation, with defaults applied. */
export interface ValidatedVpnOptions {
  readonly instanceType: ec2.InstanceType;
  readonly port: number;
  readonly peers: ec2.IPeer[];
  readonly clientNames: string[];
  readonly tunnelCidr: string;
  readonly rootVolumeSizeGiB: number;
}

/**
 * Validates `OpenVpnServer` options (also from `CasperReadOnlyNode`, before it
 * creates anything) and applies the defaults. Errors name `owner`: the
 * server's class and path (`ownerOf(server, 'OpenVpnServer')`), or just the
 * class name when the server does not exist yet.
 */
export function validateOpenVpnOptions(props: OpenVpnServerOptions, vpcCidr: string | undefined,
  owner: Owner = 'OpenVpnServer'): ValidatedVpnOptions {
  const fail = failFor(owner);
  const port = props.port ?? 1194;
  validatePort(owner, 'port', port);

  const cidrs = props.allowedClientCidrs ?? ['0.0.0.0/0'];
  if (cidrs.length === 0) fail('allowedClientCidrs', cidrs, 'must list at least one CIDR block (0.0.0.0/0 for anywhere)');
  const peers = cidrs.map((cidr) => {
    const parsed = typeof cidr === 'string' ? parseCidr(cidr) : undefined;
    if (!parsed) {
      fail('allowedClientCidrs', cidr, 'each entry must be an IPv4 CIDR such as "203.0.113.0/24" (host bits zero) or an IPv6 CIDR such as "2001:db8::/48"');
    }
    return parsed!.version === 4 ? ec2.Peer.ipv4(cidr) : ec2.Peer.ipv6(cidr);
  });

  let clientNames: string[];
  if (props.clientNames !== undefined) {
    if (props.clientCount !== undefined) fail('clientCount', props.clientCount, 'give clientCount or clientNames, not both');
    clientNames = [...props.clientNames];
    if (clientNames.length < 1 || clientNames.length > 50) fail('clientNames', clientNames, 'must name from 1 to 50 clients');
    for (const name of clientNames) {
      if (typeof name !== 'string' || !CLIENT_NAME.test(name) || name === 'server' || name === 'ca') {
        fail('clientNames', name, 'each name must be 1 to 64 letters, digits, "_", "." or "-", start with a letter or digit, and not be "server" or "ca"');
      }
    }
    if (new Set(clientNames).size !== clientNames.length) fail('clientNames', clientNames, 'must not list a name twice');
  } else {
    const count = validateInteger(owner, 'clientCount', props.clientCount ?? 5, 1, 50);
    clientNames = Array.from({ length: count }, (_, i) => `admin${i + 1}`);
  }

  const tunnelCidr = props.tunnelCidr ?? '10.8.0.0/24';
  const tunnel = parseIpv4Cidr(tunnelCidr);
  if (!tunnel || tunnel.prefixLength < 16 || tunnel.prefixLength > 29) {
    fail('tunnelCidr', tunnelCidr, 'must be an IPv4 CIDR from /16 to /29 with host bits zero, such as "10.8.0.0/24"');
  }
  if (vpcCidr !== undefined && !Token.isUnresolved(vpcCidr) && ipv4CidrsOverlap(vpcCidr, tunnelCidr)) {
    fail('tunnelCidr', tunnelCidr, `must not overlap the VPC (${vpcCidr})`);
  }

  const rootVolumeSizeGiB = validateInteger(owner, 'rootVolumeSizeGiB', props.rootVolumeSizeGiB ?? 8, 8, 100, 'GiB');
  const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO);
  return { instanceType, port, peers, clientNames, tunnelCidr, rootVolumeSizeGiB };
}

/**
 * The VPC's CIDR when known at synth: an imported VPC's, or the literal CIDR
 * of a VPC created in this app (whose `vpcCidrBlock` is only a token).
 */
export function knownVpcCidr(vpc: ec2.IVpc): string | undefined {
  const cfn = vpc.node.defaultChild;
  const literal = cfn instanceof ec2.CfnVPC ? cfn.cidrBlock : vpc.vpcCidrBlock;
  return literal !== undefined && !Token.isUnresolved(literal) ? literal : undefined;
}
