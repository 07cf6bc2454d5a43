import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** The kind of SSH source an `SshAccess` describes. */
export enum SshAccessKind {
  /** SSH is closed; use SSM Session Manager for a shell. */
  NONE = 'NONE',
  /** SSH is open to listed CIDR blocks. */
  CIDRS = 'CIDRS',
  /** SSH is open to members of a security group, such as a VPN server's. */
  SECURITY_GROUP = 'SECURITY_GROUP',
}

/**
 * Who may reach the node on SSH (TCP 22).
 *
 * SSM Session Manager gives a shell without any open port, so the default is
 * `SshAccess.none()`. Opening SSH to the whole internet needs a separate,
 * explicit opt-in on the construct that applies it.
 */
export class SshAccess {
  /** SSH closed (the default): use SSM Session Manager. */
  public static none(): SshAccess {
    return new SshAccess(SshAccessKind.NONE, [], undefined);
  }

  /**
   * SSH open to these IPv4 or IPv6 CIDR blocks (for example an office's
   * `203.0.113.0/24`). The list must not be empty.
   */
  public static fromCidrs(cidrs: string[]): SshAccess {
    return new SshAccess(SshAccessKind.CIDRS, [...cidrs], undefined);
  }

  /** SSH open to members of a security group, typically a VPN server's. */
  public static fromSecurityGroup(securityGroup: ec2.ISecurityGroup): SshAccess {
    return new SshAccess(SshAccessKind.SECURITY_GROUP, [], securityGroup);
  }

  /** Which kind of source this is. */
  public readonly kind: SshAccessKind;

  /** The CIDR blocks (kind CIDRS); empty otherwise. */
  public readonly cidrs: string[];

  /** The security group (kind SECURITY_GROUP). */
  public readonly securityGroup?: ec2.ISecurityGroup;

  private constructor(kind: SshAccessKind, cidrs: string[], securityGroup?: ec2.ISecurityGroup) {
    this.kind = kind;
    this.cidrs = cidrs;
    this.securityGroup = securityGroup;
  }
}
