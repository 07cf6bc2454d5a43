import * as path from 'path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { deployTimeProviderSkips, plainEnvironment, skipAutoDeleteObjectsProvider, skipCheckov } from '../private/checkov';
import { acknowledgeNagRules, render } from '../private/nag';
import { CasperValidationError, ownerOf } from '../private/validation';

/**
 * Properties of a `ConfigBucket`.
 */
export interface ConfigBucketProps {
  /**
   * The node configuration, written as `config.json` next to the scripts.
   * Values may be CDK tokens (ARNs, names).
   *
   * @default - no config.json is written
   */
  readonly nodeConfig?: { [key: string]: any };

  /**
   * A local folder whose files are deployed under `keyPrefix`.
   *
   * It replaces the shipped scripts and the shell library deployed beside
   * them: a folder whose scripts source `lib.sh` must hold it.
   *
   * @default - the node bootstrap scripts shipped with this library (`assets/node`), with the shell library they source (`assets/lib/lib.sh`) beside them
   */
  readonly scriptsPath?: string;

  /**
   * Key prefix of everything the bucket holds for the node. Must end in `/`.
   *
   * @default 'node/'
   */
  readonly keyPrefix?: string;

  /**
   * What happens to the bucket when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Empty the bucket when the stack deletes it (adds a custom resource).
   * Only allowed with `removalPolicy: RemovalPolicy.DESTROY`.
   *
   * @default false
   */
  readonly autoDeleteObjects?: boolean;

  /**
   * Bucket for S3 server access logs.
   *
   * @default - no access logs (the bucket only holds scripts and non-secret config)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
}

const OWNER = 'ConfigBucket';
const NODE_SCRIPTS = path.join(__dirname, '..', 'assets', 'node');
/** The shell library shared by the node scripts and the VPN setup (`lib.sh`). */
const SHELL_LIB = path.join(__dirname, '..', 'assets', 'lib');
const KEY_PREFIX = /^(?:[A-Za-z0-9!_.*'()-]+\/)+$/;

/**
 * The bucket the node boots from: its bootstrap scripts and a rendered
 * `config.json` (network, node name, secret ARN, ...). Encrypted (SSE-S3),
 * TLS-only, versioned, public access blocked, retained by default.
 */
export class ConfigBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;

  /** The key prefix holding the node's files (ends in `/`). */
  public readonly keyPrefix: string;

  /** The deployment that uploads the files; depend on it to boot after the upload. */
  public readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: ConfigBucketProps = {}) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, OWNER);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const keyPrefix = props.keyPrefix ?? 'node/';
    if (!KEY_PREFIX.test(keyPrefix)) {
      throw new CasperValidationError(owner, 'keyPrefix', keyPrefix,
        'must be one or more path segments of letters, digits or !_.*\'()- each ending in "/" (for example "node/")');
    }
    if (props.autoDeleteObjects && removalPolicy !== RemovalPolicy.DESTROY) {
      throw new CasperValidationError(owner, 'autoDeleteObjects', true,
        'is only allowed together with removalPolicy: RemovalPolicy.DESTROY');
    }
    this.keyPrefix = keyPrefix;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects ?? false,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      // Each deploy writes new versions; keep a few old ones for a rollback by hand.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), noncurrentVersionsToRetain: 10 }],
    });

    // The node scripts source lib.sh from their own folder: both folders land under keyPrefix.
    const sources = props.scriptsPath
      ? [s3deploy.Source.asset(props.scriptsPath)]
      : [s3deploy.Source.asset(NODE_SCRIPTS), s3deploy.Source.asset(SHELL_LIB)];
    if (props.nodeConfig) {
      sources.push(s3deploy.Source.jsonData('config.json', props.nodeConfig));
    }
    this.deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      destinationKeyPrefix: keyPrefix,
      sources,
      prune: true,
      retainOnDelete: removalPolicy !== RemovalPolicy.DESTROY,
    });

    this.acknowledgeDeploymentHandler();
    if (props.autoDeleteObjects) skipAutoDeleteObjectsProvider(this);

    if (!props.serverAccessLogsBucket) {
      acknowledgeNagRules(this.bucket, [{
        id: 'AwsSolutions-S1',
        reason: 'The bucket only holds the node bootstrap scripts and non-secret config, written by CloudFormation; pass serverAccessLogsBucket to log access.',
      }]);
      skipCheckov(this.bucket.node.defaultChild!, [{
        id: 'CKV_AWS_18',
        comment: 'The bucket only holds the node bootstrap scripts and non-secret config, written by CloudFormation and read by the node role; pass serverAccessLogsBucket to log access.',
      }]);
    }
  }

  /**
   * The upload handler is a stack-wide singleton owned by aws-cdk-lib: name
   * each of its findings exactly, so anything new still surfaces.
   */
  private acknowledgeDeploymentHandler(): void {
    const handler = this.deployment.handlerRole.node.scope!;
    // Its policy reads the CDK asset bucket and writes this one; name every
    // resource it grants, the way cdk-nag prints them.
    const policy = this.deployment.handlerRole.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    const statements = (policy ? Stack.of(this).resolve(policy.document.toJSON())?.Statement ?? [] : []) as Array<{ Resource: unknown }>;
    const resources = [...new Set(statements.flatMap((st) => ([] as unknown[]).concat(st.Resource))
      .map((r) => `Resource::${render(r)}`))];
    acknowledgeNagRules(handler, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'The CDK BucketDeployment handler logs with AWSLambdaBasicExecutionRole.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The CDK BucketDeployment handler copies CDK asset objects into the config bucket: S3 action groups on object keys of those two buckets only.',
        appliesTo: [
          'Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*',
          ...resources,
        ],
      },
      { id: 'AwsSolutions-L1', reason: 'The runtime of the CDK BucketDeployment handler is chosen by aws-cdk-lib.' },
    ]);
    skipCheckov(handler.node.defaultChild ?? handler, [
      ...deployTimeProviderSkips('CDK\'s BucketDeployment handler talks only to S3 (the CDK asset bucket, this bucket, '
        + 'CloudFormation\'s response URL) and reaches nothing inside a VPC; attaching it to one would add network interfaces '
        + 'and EC2 permissions to its role without narrowing where its traffic goes.'),
      plainEnvironment('AWS_CA_BUNDLE, the path of the CA certificate bundle, set by aws-cdk-lib'),
    ]);
  }

  /** The S3 key of a file the bucket holds for the node, such as `config.json`. */
  public keyFor(file: string): string {
    return `${this.keyPrefix}${file}`;
  }

  /** The `s3://bucket/key` URL of a file the bucket holds for the node. */
  public s3UrlFor(file: string): string {
    return this.bucket.s3UrlForObject(this.keyFor(file));
  }

  /**
   * Lets a principal list and download the node's files: `s3:GetObject` on
   * objects under `keyPrefix` and `s3:ListBucket` limited to that prefix.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.objectsArn],
    });
    const listing = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${this.keyPrefix}*`] } },
    });
    return objects.combine(listing);
  }

  /** ARN pattern of the node's objects (`<bucket arn>/<keyPrefix>*`). */
  public get objectsArn(): string {
    return this.bucket.arnForObjects(`${this.keyPrefix}*`);
  }
}
