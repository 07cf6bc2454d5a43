import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CasperValidationError, Owner, ShownAs, parseCidr } from './validation';
import { SshAccess, SshAccessKind } from '../network/ssh-access';

/**
 * Turns an `SshAccess` into security group peers, validating it: throws for
 * an empty or malformed CIDR list, and for the whole internet unless
 * `allowAnywhere` is set.
 */
export function resolveSshPeers(owner: Owner, access: SshAccess, allowAnywhere: boolean): ec2.IPeer[] {
  switch (access.kind) {
    case SshAccessKind.NONE:
      return [];
    case SshAccessKind.SECURITY_GROUP:
      return [access.securityGroup!];
    case SshAccessKind.CIDRS: {
      if (access.cidrs.length === 0) {
        throw new CasperValidationError(owner, 'sshAccess', access.cidrs,
          'SshAccess.fromCidrs needs at least one CIDR block; use SshAccess.none() to keep SSH closed');
      }
      return access.cidrs.map((cidr) => {
        const parsed = parseCidr(cidr);
        if (!parsed) {
          throw new CasperValidationError(owner, 'sshAccess', cidr,
            'each SSH source must be an IPv4 CIDR such as "203.0.113.0/24" (host bits zero) or an IPv6 CIDR such as "2001:db8::/48"');
        }
        if (parsed.prefixLength === 0 && !allowAnywhere) {
          throw new CasperValidationError(owner, 'sshAccess', cidr,
            'SSH from the whole internet is refused unless allowSshFromAnywhere is true; prefer a VPN (SshAccess.fromSecurityGroup) or your own CIDR blocks');
        }
        return parsed.version === 4 ? ec2.Peer.ipv4(cidr) : ec2.Peer.ipv6(cidr);
      });
    }
    default:
      throw new CasperValidationError(owner, 'sshAccess', describeSshAccess(access), 'unknown SSH access kind');
  }
}

/**
 * An `SshAccess` as the user wrote it, for error messages:
 * `SshAccess.fromCidrs(["203.0.113.0/24"])`, `SshAccess.fromSecurityGroup(<construct path>)`, `SshAccess.none()`.
 */
export function describeSshAccess(access: SshAccess): ShownAs {
  switch (access.kind) {
    case SshAccessKind.NONE:
      return new ShownAs('SshAccess.none()');
    case SshAccessKind.CIDRS:
      return new ShownAs(`SshAccess.fromCidrs(${JSON.stringify(access.cidrs)})`);
    case SshAccessKind.SECURITY_GROUP:
      return new ShownAs(`SshAccess.fromSecurityGroup(${access.securityGroup?.node.path ?? 'undefined'})`);
    default:
      return new ShownAs(`SshAccess of kind ${JSON.stringify(access.kind)}`);
  }
}
