import * as path from 'path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { noReservedConcurrency, plainEnvironment, serviceEncryptedLogGroup, skipCheckov } from './checkov';
import { acknowledgeNagRules, PINNED_NODE_RUNTIME } from './nag';

/** The Node.js runtime the handlers are bundled and tested for (see `PINNED_NODE_RUNTIME`). */
const HANDLER_RUNTIME = new lambda.Runtime('nodejs22.x', lambda.RuntimeFamily.NODEJS);

/** What one of the library's Lambda handlers needs besides its code. */
export interface HandlerFunctionProps {
  /** Prefix of the log group, role and policy IDs (`<prefix>Logs`, `<prefix>Role`, `<prefix>Policy`). */
  readonly idPrefix: string;
  /** ID of the function itself. */
  readonly functionId: string;
  /**
   * The handler's bundle, relative to the package's `assets/` folder: for
   * `src/storage/snapshot-rotation.lambda.ts`, `storage/snapshot-rotation.lambda`
   * (built by the `bundle` task, see .projenrc.ts).
   */
  readonly bundle: string;
  readonly description: string;
  readonly roleDescription: string;
  /** The role's statements, in one policy the function depends on. */
  readonly statements: iam.PolicyStatement[];
  readonly environment: { [name: string]: string };
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. Default RETAIN. */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Runs the function in a VPC (with `allowPublicSubnet`: the library's VPCs have only
   * public subnets, and such a function reaches what is inside the VPC, not the internet).
   * The role must then allow Lambda's network interface calls (`vpcAccessStatements`).
   * Default: outside any VPC.
   */
  readonly network?: HandlerNetwork;
  /** For the checkov notes: what the logs hold, who invokes the function, which AWS APIs it calls, what the environment holds. */
  readonly logContents: string;
  readonly invokedBy: string;
  readonly failureHandling: string;
  readonly services: string;
  readonly environmentContents: string;
}

/** Where a handler that runs in a VPC is placed. */
export interface HandlerNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
}

/** The parts `handlerFunction` made. */
export interface HandlerFunctionParts {
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  readonly policy: iam.Policy;
  readonly fn: lambda.Function;
}

/**
 * One handler's scaffolding: a retained log group, a role that may write to it,
 * one policy with the given statements (the function waits for it), the
 * function, and the notes for cdk-nag and checkov every handler shares.
 *
 * The parts are made directly in `scope` rather than under a construct of
 * their own, so that the handlers users have deployed keep their logical IDs.
 */
export function handlerFunction(scope: Construct, props: HandlerFunctionProps): HandlerFunctionParts {
  const logGroup = new logs.LogGroup(scope, `${props.idPrefix}Logs`, {
    retention: props.logRetention,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, `${props.idPrefix}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const policy = new iam.Policy(scope, `${props.idPrefix}Policy`, { roles: [role], statements: props.statements });
  const fn = new lambda.Function(scope, props.functionId, {
    runtime: HANDLER_RUNTIME,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', props.bundle)),
    description: props.description,
    role,
    logGroup,
    timeout: props.timeout,
    memorySize: 256,
    environment: props.environment,
    ...(props.network ? {
      vpc: props.network.vpc,
      vpcSubnets: props.network.vpcSubnets,
      securityGroups: [props.network.securityGroup],
      allowPublicSubnet: true,
    } : {}),
  });
  // The SDK's keep-alive (default in SDK v3; set for the handlers deployed before).
  fn.addEnvironment('AWS_NODEJS_CONNECTION_REUSE_ENABLED', '1', { removeInEdge: true });
  fn.node.addDependency(policy);

  acknowledgeNagRules(fn, [PINNED_NODE_RUNTIME]);
  skipCheckov(logGroup.node.defaultChild!, [serviceEncryptedLogGroup(props.logContents)]);
  skipCheckov(fn.node.defaultChild!, [
    // In a VPC, CKV_AWS_117 passes.
    ...(props.network ? [] : [{
      id: 'CKV_AWS_117',
      comment: `The function calls only regional AWS APIs (${props.services}) and reaches nothing inside a VPC. In the node's VPC `
        + '(CasperVpc: no NAT gateway) it would need an interface endpoint for each, each billed per hour and Availability Zone, '
        + 'without reducing exposure.',
    }]),
    { id: 'CKV_AWS_116', comment: `Invoked by ${props.invokedBy}. ${props.failureHandling}` },
    noReservedConcurrency(props.invokedBy),
    plainEnvironment(props.environmentContents),
  ]);
  return { logGroup, role, policy, fn };
}

/**
 * What the Lambda service needs from the role of a function in a VPC to manage the
 * function's network interfaces (the EC2 actions of the AWS managed policy
 * AWSLambdaVPCAccessExecutionRole v3), narrowed where EC2 allows it: interfaces are created
 * only in the function's own subnets with its own security group, and deleted or changed
 * only in this account and Region. The two Describe actions have no resource-level
 * permissions. Lambda makes these calls with the role when the function is created,
 * updated or deleted, not the function's code.
 */
export function vpcAccessStatements(scope: Construct, network: HandlerNetwork): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const interfaces = networkInterfacesArn(scope);
  const subnets = network.vpc.selectSubnets(network.vpcSubnets).subnetIds
    .map((id) => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: id }));
  const securityGroup = stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: network.securityGroup.securityGroupId });
  return [
    new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], resources: ['*'] }),
    new iam.PolicyStatement({ actions: ['ec2:CreateNetworkInterface'], resources: [interfaces, ...subnets, securityGroup] }),
    new iam.PolicyStatement({
      actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: [interfaces],
    }),
  ];
}

/** Every network interface of the stack's account and Region (`arn:...:ec2:<region>:<account>:network-interface/*`). */
export function networkInterfacesArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
}
