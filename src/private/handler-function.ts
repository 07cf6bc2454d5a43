import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { noReservedConcurrency, plainEnvironment, serviceEncryptedLogGroup, skipCheckov } from './checkov';
import { acknowledgeNagRules, PINNED_NODE_RUNTIME } from './nag';

/** What one of the library's Lambda handlers needs besides its code. */
export interface HandlerFunctionProps {
  /** Prefix of the log group, role and policy IDs (`<prefix>Logs`, `<prefix>Role`, `<prefix>Policy`). */
  readonly idPrefix: string;
  /** ID of the function itself. */
  readonly functionId: string;
  /** The projen-generated function class (its bundled code and runtime). */
  readonly createFunction: (scope: Construct, id: string, options: lambda.FunctionOptions) => lambda.Function;
  readonly description: string;
  readonly roleDescription: string;
  /** The role's statements, in one policy the function depends on. */
  readonly statements: iam.PolicyStatement[];
  readonly environment: { [name: string]: string };
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** For the checkov notes: what the logs hold, who invokes the function, which AWS APIs it calls, what the environment holds. */
  readonly logContents: string;
  readonly invokedBy: string;
  readonly failureHandling: string;
  readonly services: string;
  readonly environmentContents: string;
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
  const logGroup = new logs.LogGroup(scope, `${props.idPrefix}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
  const role = new iam.Role(scope, `${props.idPrefix}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const policy = new iam.Policy(scope, `${props.idPrefix}Policy`, { roles: [role], statements: props.statements });
  const fn = props.createFunction(scope, props.functionId, {
    description: props.description,
    role,
    logGroup,
    timeout: props.timeout,
    memorySize: 256,
    environment: props.environment,
  });
  fn.node.addDependency(policy);

  acknowledgeNagRules(fn, [PINNED_NODE_RUNTIME]);
  skipCheckov(logGroup.node.defaultChild!, [serviceEncryptedLogGroup(props.logContents)]);
  skipCheckov(fn.node.defaultChild!, [
    {
      id: 'CKV_AWS_117',
      comment: `The function calls only regional AWS APIs (${props.services}) and reaches nothing inside a VPC. In the node's VPC `
        + '(CasperVpc: no NAT gateway) it would need an interface endpoint for each, each billed per hour and Availability Zone, '
        + 'without reducing exposure.',
    },
    { id: 'CKV_AWS_116', comment: `Invoked by ${props.invokedBy}. ${props.failureHandling}` },
    noReservedConcurrency(props.invokedBy),
    plainEnvironment(props.environmentContents),
  ]);
  return { logGroup, role, policy, fn };
}
