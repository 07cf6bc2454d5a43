import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CasperNetwork } from './casper-network';
import { CasperNodeInstanceOptions } from './compute/casper-node-instance-options';
import { CasperAlarmThresholds } from './monitoring/casper-alarms';
import { OpenVpnServerOptions } from './network/open-vpn-server';
import { SshAccess } from './network/ssh-access';

/**
 * Properties of a `CasperReadOnlyNode`.
 */
export interface CasperReadOnlyNodeProps extends CasperNodeInstanceOptions {
  /** The Casper network the node joins: `CasperNetwork.MAINNET`, `TESTNET` or `custom(...)`. */
  readonly network: CasperNetwork;

  /**
   * The VPC to run in; the node is placed in its public subnets.
   *
   * @default - a new `CasperVpc` (three public subnets, no NAT, S3 endpoint, flow logs)
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The node's name: tags its data volume, snapshots and Elastic IP, and is
   * the dimension of its metrics. Unique per account and region.
   * Letters, digits and `-`, 1 to 63 characters.
   *
   * @default '<chainspec name>-node'
   */
  readonly nodeName?: string;

  /**
   * Who may reach the node on SSH. An EC2 key pair is created only when SSH is open.
   *
   * @default SshAccess.none() - SSH closed; SSM Session Manager gives a shell
   */
  readonly sshAccess?: SshAccess;

  /**
   * Allow `sshAccess` to name `0.0.0.0/0` or `::/0`.
   *
   * @default false
   */
  readonly allowSshFromAnywhere?: boolean;

  /**
   * Who may call JSON-RPC (7777) besides the VPC.
   *
   * @default - only the VPC
   */
  readonly rpcPeers?: ec2.IPeer[];

  /**
   * Who may subscribe to SSE events (9999) besides the VPC.
   *
   * @default - only the VPC
   */
  readonly ssePeers?: ec2.IPeer[];

  /**
   * Whether the REST status port (8888) is open to the internet. `false` needs
   * `enableCanary: false`: the canary checks the port from the internet.
   *
   * @default true
   */
  readonly publicStatusPort?: boolean;

  /**
   * Email addresses that receive alerts and Auto Scaling events. Each must
   * confirm the subscription email from AWS.
   *
   * @default - no email subscriptions (subscribe to the `AlertTopicArn` output)
   */
  readonly alertEmails?: string[];

  /**
   * An existing topic for alerts and Auto Scaling events, instead of the
   * `AlertTopic` the node creates. Its KMS key, if any, must let CloudWatch
   * and Auto Scaling publish.
   *
   * @default - an `AlertTopic` (KMS-encrypted, TLS-only), with `alertEmails` subscribed
   */
  readonly alertTopic?: sns.ITopic;

  /**
   * ID of the Slack workspace (such as `T0123ABCDEF`) whose `alertSlackChannelId`
   * receives the alerts through AWS Chatbot (notifications only). Authorize the
   * workspace once in the AWS Chatbot console first. Give both or neither.
   *
   * @default - no Slack channel
   */
  readonly alertSlackWorkspaceId?: string;

  /**
   * ID of the Slack channel (such as `C0123ABCDEF`) that receives the alerts.
   *
   * @default - no Slack channel
   */
  readonly alertSlackChannelId?: string;

  /**
   * One page instead of many: a composite "node unhealthy" alarm over the
   * critical alarms notifies, and they no longer notify by themselves (see
   * `CasperAlarmsProps.nodeUnhealthyAlarm`).
   *
   * @default false
   */
  readonly nodeUnhealthyAlarm?: boolean;

  /**
   * CloudWatch namespace of the node's metrics.
   *
   * @default 'casper-<chainspec name>'
   */
  readonly metricsNamespace?: string;

  /**
   * How long the node, bootstrap and metrics log groups keep events.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Alarm thresholds (CPU, memory, disk, block age, peers, backup age).
   *
   * @default - CPU 70 %, memory 80 %, disk 90 %, block age 10 minutes, 3 peers, backups 2 days
   */
  readonly alarmThresholds?: CasperAlarmThresholds;

  /**
   * Time between two canary checks, whole minutes from 1 to 60.
   *
   * @default Duration.minutes(5)
   */
  readonly canaryInterval?: Duration;

  /**
   * What happens to stateful resources (Elastic IP, signing-key secret,
   * config bucket, log groups) when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Scheduled, sync-aware EBS snapshots of the data volume (SnapshotRotation).
   *
   * @default true
   */
  readonly enableBackups?: boolean;

  /**
   * An external Synthetics canary on the status endpoint (CasperCanary).
   *
   * @default true
   */
  readonly enableCanary?: boolean;

  /**
   * A CloudWatch dashboard for the node (CasperDashboard).
   *
   * @default true
   */
  readonly enableDashboard?: boolean;

  /**
   * A self-hosted OpenVPN server (`OpenVpnServer`) in the node's VPC; the
   * node's SSH is then open only to it (seed rule: "SSH is available when
   * connected to the VPN Server") and an EC2 key pair is created for it.
   * Not together with `sshAccess`.
   *
   * @default false
   */
  readonly enableVpn?: boolean;

  /**
   * Settings of the VPN server when `enableVpn` is true (client count, port,
   * allowed client CIDRs, instance type, tunnel network).
   *
   * @default - the `OpenVpnServer` defaults: 5 profiles, UDP 1194 from anywhere, t4g.nano
   */
  readonly vpnOptions?: OpenVpnServerOptions;

  /**
   * Serve the in-sync health endpoint (`GET /healthz` on this port: 200 only
   * in KeepUp, with a block younger than `alarmThresholds.maxBlockAge`, at
   * least `alarmThresholds.minPeerCount` peers and a working sidecar), open to
   * the VPC: for a load balancer or a monitor of your own.
   *
   * @default - no health endpoint
   */
  readonly healthCheckPort?: number;
}
