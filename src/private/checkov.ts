import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One checkov check that a resource knowingly does not pass, and why. */
export interface CheckovSkip {
  /** Check id, e.g. `CKV_AWS_116`. */
  readonly id: string;
  /** Why the check does not apply or the finding is accepted (shown by checkov as the suppress comment). */
  readonly comment: string;
}

/**
 * Skips checkov checks on every CloudFormation resource at or below `scope`:
 * writes them into the resource's `Metadata.checkov.skip`, which checkov reads
 * from the synthesized template. Merges with skips already there; a skip of
 * the same id replaces the earlier one, so calling this twice (for example for
 * a stack-wide singleton that several constructs use) adds no duplicates.
 *
 * Pass the narrowest construct that owns the resource.
 */
export function skipCheckov(scope: IConstruct, skips: CheckovSkip[]): void {
  const added = skips.map((s) => ({ id: s.id, comment: s.comment }));
  for (const child of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(child)) continue;
    const metadata = child.getMetadata('checkov') ?? {};
    const existing = (metadata.skip ?? []) as CheckovSkip[];
    const merged = [...existing.filter((e) => !added.some((s) => s.id === e.id)), ...added];
    child.addMetadata('checkov', { ...metadata, skip: merged });
  }
}

/**
 * CKV_AWS_115 for a function that only its own trigger invokes: a reservation
 * would protect nothing and could break the deployment.
 */
export function noReservedConcurrency(invokedBy: string): CheckovSkip {
  return {
    id: 'CKV_AWS_115',
    comment: `Invoked only by ${invokedBy}: a few runs at a time at most, with nothing to set aside for; a reservation is taken from the account's `
      + 'shared pool, and Lambda rejects one that leaves less than its minimum unreserved concurrency (accounts on a low '
      + 'limit, such as new accounts, cannot reserve any), which would fail the deployment.',
  };
}

/**
 * The checks a deploy-time custom resource provider function that aws-cdk-lib
 * creates does not pass, with why. `network` says what it calls and why a VPC
 * would not help (CKV_AWS_117).
 */
export function deployTimeProviderSkips(network: string): CheckovSkip[] {
  return [
    { id: 'CKV_AWS_117', comment: network },
    {
      id: 'CKV_AWS_116',
      comment: 'A CloudFormation custom resource provider: every failure is reported back to the stack operation, which '
        + 'fails and shows the error in its events; a dead-lettered event could not be replayed into that finished operation.',
    },
    noReservedConcurrency('CloudFormation while this stack deploys'),
  ];
}

/**
 * CKV_AWS_158 for a log group left on CloudWatch Logs' default encryption.
 * `contents` says what it holds.
 */
export function serviceEncryptedLogGroup(contents: string): CheckovSkip {
  return {
    id: 'CKV_AWS_158',
    comment: `${contents}; CloudWatch Logs encrypts it at rest with service-managed keys and IAM on the log group decides `
      + 'who reads it. A customer-managed key would add a key per node ($1/month) and a key policy for the logs service without adding a reader to separate.',
  };
}

/**
 * CKV_AWS_173 for a function whose environment holds no secrets. `contents`
 * says what it holds.
 */
export function plainEnvironment(contents: string): CheckovSkip {
  return {
    id: 'CKV_AWS_173',
    comment: `The environment holds no secrets, only ${contents}; Lambda encrypts environment variables at rest with its `
      + 'AWS managed key, and a customer-managed key would only add a key to manage.',
  };
}

/**
 * Skips the deploy-time provider checks on the function aws-cdk-lib shares
 * among all buckets of a stack with `autoDeleteObjects`; call it from each
 * construct that creates such a bucket (the skips merge).
 */
export function skipAutoDeleteObjectsProvider(scope: IConstruct): void {
  skipStackProvider(scope, 'Custom::S3AutoDeleteObjectsCustomResourceProvider', 'CDK\'s autoDeleteObjects provider calls only the S3 API, when a bucket with '
    + 'RemovalPolicy.DESTROY is deleted, to empty it; it reaches nothing inside a VPC, and a VPC would only add network '
    + 'interfaces and EC2 permissions to its role.');
}

/**
 * Skips the deploy-time provider checks on the handler of a custom resource
 * provider aws-cdk-lib keeps once per stack (`providerId`), if the stack has it.
 * `why` says what the provider calls and why it needs no VPC.
 */
export function skipStackProvider(scope: IConstruct, providerId: string, why: string): void {
  const handler = Stack.of(scope).node.tryFindChild(providerId)?.node.tryFindChild('Handler');
  if (handler) skipCheckov(handler, deployTimeProviderSkips(why));
}
