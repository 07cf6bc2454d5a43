import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { SshAccess } from './ssh-access';
import { CasperNetwork } from '../casper-network';
import { acknowledgeNagRules } from '../private/nag';
import { resolveSshPeers } from '../private/ssh';
import { ownerOf } from '../private/validation';

/**
 * Properties of a `CasperNodeSecurityGroup`.
 */
export interface CasperNodeSecurityGroupProps {
  /** The VPC the node runs in. */
  readonly vpc: ec2.IVpc;

  /**
   * The network whose ports are opened.
   *
   * @default CasperNetwork.MAINNET (mainnet and testnet use the same ports)
   */
  readonly network?: CasperNetwork;

  /**
   * Who may call the JSON-RPC port (7777). Clients inside the VPC always may.
   *
   * @default - only clients inside the VPC
   */
  readonly rpcPeers?: ec2.IPeer[];

  /**
   * Who may subscribe to the server-sent events port (9999). Clients inside
   * the VPC always may.
   *
   * @default - only clients inside the VPC
   */
  readonly ssePeers?: ec2.IPeer[];

  /**
   * Whether the REST status port (8888: `/status`, `/metrics`) is open to the
   * internet, as is the Casper network's convention (network explorers and
   * the external canary read it). When false, only the VPC may reach it.
   *
   * @default true
   */
  readonly publicStatusPort?: boolean;

  /**
   * Who may reach the node on SSH (TCP 22).
   *
   * @default SshAccess.none() - SSH closed; use SSM Session Manager
   */
  readonly sshAccess?: SshAccess;

  /**
   * Allow `sshAccess` to name `0.0.0.0/0` or `::/0`. Opening SSH to the whole
   * internet invites brute-force attempts; prefer a VPN or your own CIDRs.
   *
   * @default false
   */
  readonly allowSshFromAnywhere?: boolean;

  /**
   * A description for the security group.
   *
   * @default 'Casper node: gossip and status public, RPC/SSE/SSH restricted'
   */
  readonly description?: string;
}

const OWNER = 'CasperNodeSecurityGroup';
const SSH_PORT = 22;

/**
 * The Casper node's security group.
 *
 * | port | protocol | open to |
 * |---|---|---|
 * | 35000 | gossip | everyone (IPv4 and IPv6): the node must be reachable to join the network |
 * | 8888 | REST `/status`, `/metrics` | everyone (IPv4 and IPv6), or only the VPC when `publicStatusPort` is false |
 * | 7777 | JSON-RPC | the VPC and `rpcPeers` |
 * | 9999 | SSE | the VPC and `ssePeers` |
 * | 22 | SSH | nobody, listed CIDRs, or a security group (a VPN) — per `sshAccess` |
 *
 * Nothing else is open. Outbound traffic is allowed (peers, package mirrors, AWS APIs).
 */
export class CasperNodeSecurityGroup extends Construct implements ec2.IConnectable {
  /** The security group. */
  public readonly securityGroup: ec2.SecurityGroup;

  /** Connections of the node (use to allow more traffic in). */
  public readonly connections: ec2.Connections;

  /** The network whose ports are opened. */
  public readonly network: CasperNetwork;

  constructor(scope: Construct, id: string, props: CasperNodeSecurityGroupProps) {
    super(scope, id);
    const network = props.network ?? CasperNetwork.MAINNET;
    const sshAccess = props.sshAccess ?? SshAccess.none();
    const sshPeers = resolveSshPeers(ownerOf(this, OWNER), sshAccess, props.allowSshFromAnywhere ?? false);

    this.network = network;
    this.securityGroup = new ec2.SecurityGroup(this, 'Resource', {
      vpc: props.vpc,
      description: props.description ?? 'Casper node: gossip and status public, RPC/SSE/SSH restricted',
      allowAllOutbound: true,
      allowAllIpv6Outbound: true,
    });
    this.connections = this.securityGroup.connections;
    const sg = this.securityGroup;
    const vpcPeer = ec2.Peer.ipv4(props.vpc.vpcCidrBlock);

    const gossip = ec2.Port.tcp(network.gossipPort);
    sg.addIngressRule(ec2.Peer.anyIpv4(), gossip, 'Casper gossip from any peer (IPv4)');
    sg.addIngressRule(ec2.Peer.anyIpv6(), gossip, 'Casper gossip from any peer (IPv6)');

    const rest = ec2.Port.tcp(network.restPort);
    if (props.publicStatusPort ?? true) {
      sg.addIngressRule(ec2.Peer.anyIpv4(), rest, 'Casper REST status/metrics (IPv4)');
      sg.addIngressRule(ec2.Peer.anyIpv6(), rest, 'Casper REST status/metrics (IPv6)');
    } else {
      sg.addIngressRule(vpcPeer, rest, 'Casper REST status/metrics from the VPC');
    }

    const rpc = ec2.Port.tcp(network.rpcPort);
    sg.addIngressRule(vpcPeer, rpc, 'Casper JSON-RPC from the VPC');
    for (const peer of props.rpcPeers ?? []) {
      sg.addIngressRule(peer, rpc, 'Casper JSON-RPC from an allowed peer');
    }
    const sse = ec2.Port.tcp(network.ssePort);
    sg.addIngressRule(vpcPeer, sse, 'Casper SSE from the VPC');
    for (const peer of props.ssePeers ?? []) {
      sg.addIngressRule(peer, sse, 'Casper SSE from an allowed peer');
    }

    for (const peer of sshPeers) {
      this.allowSshFrom(peer);
    }

    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-EC23',
      reason: 'Casper gossip (35000) must be open to the internet for the node to join the network, and the REST status port (8888) is public by network convention; RPC, SSE and SSH stay restricted.',
    }]);
  }

  /**
   * Allows SSH (TCP 22) from a peer, such as a VPN server's security group.
   */
  public allowSshFrom(peer: ec2.IPeer): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(SSH_PORT), 'SSH for administrators');
  }
}
