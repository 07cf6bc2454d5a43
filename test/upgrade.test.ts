/**
 * Users upgrade in place: a new version must not replace their stateful
 * resources. CloudFormation replaces a resource whose logical ID changes, so
 * the default node's stateful resources keep these IDs. A refactor that moves
 * one of them in the construct tree fails here; keep the ID (for example with
 * `overrideLogicalId`) or say in the release notes what the user loses.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../examples/testnet-node';

/** Logical ID → resource type of the stateful resources of examples/testnet-node.ts. */
const PINNED: Record<string, string> = {
  NodeNetworkVpc55FB5B0D: 'AWS::EC2::VPC',
  NodeNetworkVpcPublicSubnet1Subnet85D00028: 'AWS::EC2::Subnet',
  NodeNetworkVpcPublicSubnet2SubnetE45456B2: 'AWS::EC2::Subnet',
  NodeNetworkVpcPublicSubnet3Subnet86C371C3: 'AWS::EC2::Subnet',
  NodeNetworkFlowLogGroupA0EA046E: 'AWS::Logs::LogGroup',
  NodeElasticIp62119F3B: 'AWS::EC2::EIP',
  NodeKeysSigningKey5E9D44C2: 'AWS::SecretsManager::Secret',
  NodeAlertsKey46DE1CF5: 'AWS::KMS::Key',
  NodeConfigBucket54A9177D: 'AWS::S3::Bucket',
  NodeCanaryArtifactsFFB44B69: 'AWS::S3::Bucket',
  NodeAgentNodeLogD71AB764: 'AWS::Logs::LogGroup',
  NodeAgentNodeStderrLog594AA1FF: 'AWS::Logs::LogGroup',
  NodeAgentBootstrapLogD94FA4A1: 'AWS::Logs::LogGroup',
  NodeAgentMetricsLog6F72D886: 'AWS::Logs::LogGroup',
  NodeDataVolumeLogsB20A332B: 'AWS::Logs::LogGroup',
  NodeDataVolumeWorkflowLogs301534ED: 'AWS::Logs::LogGroup',
  NodeDataVolumeStarterLogsC82E0330: 'AWS::Logs::LogGroup',
  NodeBackupsLogsA598BE82: 'AWS::Logs::LogGroup',
};

/** Resource types that hold state or identity. */
const STATEFUL = new Set(['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::EIP', 'AWS::SecretsManager::Secret', 'AWS::KMS::Key',
  'AWS::S3::Bucket', 'AWS::Logs::LogGroup']);

test('the default node\'s stateful resources keep their logical IDs', () => {
  const app = buildApp(new App());
  const resources = Template.fromStack(app.node.findChild('CasperTestnetNode') as Stack).toJSON().Resources as Record<string, { Type: string }>;
  const found = Object.fromEntries(Object.entries(resources).filter(([, r]) => STATEFUL.has(r.Type)).map(([id, r]) => [id, r.Type]));
  // Every pinned ID is still there with its type, and no stateful resource is unaccounted for.
  expect(found).toEqual(PINNED);
});

/**
 * The compute core. Not stateful, but a new logical ID for the group would
 * make CloudFormation create a second group and delete the first: the old
 * instance's data volume would be detached while the node runs. The node
 * builds its `CasperNodeGroup` with the id `Default`, which CDK leaves out of
 * logical IDs, so these stay where they were when the node built them itself.
 */
const PINNED_COMPUTE: Record<string, string> = {
  NodeRoleD4034043: 'AWS::IAM::Role',
  NodeRoleSessionManagerPolicy97FAB88F: 'AWS::IAM::Policy',
  NodeRoleDefaultPolicyD881D3CD: 'AWS::IAM::Policy',
  NodeLaunchTemplateProfile9C08DBCF: 'AWS::IAM::InstanceProfile',
  NodeLaunchTemplateD1A59652: 'AWS::EC2::LaunchTemplate',
  NodeAsgASG869CD44A: 'AWS::AutoScaling::AutoScalingGroup',
  NodeSelfHealingPolicy96E4B8B3: 'AWS::IAM::Policy',
};

test('the default node\'s group, launch template and role keep their logical IDs and names', () => {
  const app = buildApp(new App());
  const resources = Template.fromStack(app.node.findChild('CasperTestnetNode') as Stack).toJSON().Resources as Record<string, any>;
  for (const [id, type] of Object.entries(PINNED_COMPUTE)) {
    expect({ id, type: resources[id]?.Type }).toEqual({ id, type });
  }
  // The instances' Name tag is the path without the hidden id, as before the compute core existed.
  type TagSpec = { Tags: Array<{ Key: string; Value: string }> };
  const specs = resources.NodeLaunchTemplateD1A59652.Properties.LaunchTemplateData.TagSpecifications as TagSpec[];
  for (const spec of specs) expect(spec.Tags).toContainEqual({ Key: 'Name', Value: 'CasperTestnetNode/Node/LaunchTemplate' });
});
