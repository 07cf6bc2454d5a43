import * as path from 'path';
import { ArnFormat, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CasperNetwork } from '../casper-network';
import { CasperElasticIp } from '../network/casper-elastic-ip';
import { deployTimeProviderSkips, skipAutoDeleteObjectsProvider, skipCheckov } from '../private/checkov';
import { acknowledgeNagRules, nagFindingName } from '../private/nag';
import { describeDuration, failFor, Owner, ownerOf, validateDuration } from '../private/validation';

/**
 * Properties of a `CasperCanary`.
 */
export interface CasperCanaryProps {
  /**
   * The node's Elastic IP: the canary checks `http://<its address>:<REST port>/status`.
   * Give this or `statusUrl`.
   *
   * @default - `statusUrl`
   */
  readonly elasticIp?: CasperElasticIp;

  /**
   * Any Casper node's status URL, such as `http://203.0.113.10:8888/status`.
   * Give this or `elasticIp`.
   *
   * @default - built from `elasticIp`
   */
  readonly statusUrl?: string;

  /**
   * The network the node must be on: its chainspec name is expected in
   * `/status`, and its REST port is used with `elasticIp`.
   *
   * @default - any chainspec; port 8888
   */
  readonly network?: CasperNetwork;

  /**
   * Oldest acceptable last block; an older one fails the check.
   *
   * @default Duration.minutes(10)
   */
  readonly maxBlockAge?: Duration;

  /**
   * How long one request may take, from 1 to 60 seconds.
   *
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;

  /**
   * Fail while the node reports `CatchUp`, even with a fresh block.
   *
   * @default false - a node in CatchUp whose last block is fresh is following the chain
   */
  readonly failOnCatchUp?: boolean;

  /**
   * Time between two checks: whole minutes from 1 to 60.
   *
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;

  /**
   * The Synthetics runtime: a Node.js Puppeteer runtime (`syn-nodejs-puppeteer-<major>.<minor>`).
   *
   * @default synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0 (Node.js 22)
   */
  readonly runtime?: synthetics.Runtime;

  /**
   * How long run artifacts (reports, logs) stay in the artifacts bucket: whole days, at least 1.
   *
   * @default Duration.days(30)
   */
  readonly artifactsExpiration?: Duration;

  /**
   * How long the canary's log group keeps logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the artifacts bucket when it leaves the stack (with
   * DESTROY its objects are deleted too).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const OWNER = 'CasperCanary';

/** Where the build puts the bundled canary script (`nodejs/node_modules/casper-canary.js`). */
const CANARY_CODE_DIR = path.join(__dirname, '..', '..', 'assets', 'canary');

/**
 * A CloudWatch Synthetics canary that checks a Casper node from outside the
 * VPC: `GET <status URL>` must answer 200 with JSON on the right chainspec
 * and a last block younger than `maxBlockAge`. Failed runs show in
 * `metricSuccessPercent()`; `CasperAlarms` turns two in a row into an alarm.
 *
 * Artifacts go to an encrypted, TLS-only, private bucket that expires them;
 * the canary's Lambda log group gets a retention.
 */
export class CasperCanary extends Construct {
  /** The canary. */
  public readonly canary: synthetics.Canary;

  /** The run artifacts bucket. */
  public readonly artifactsBucket: s3.Bucket;

  /** The URL the canary checks. */
  public readonly statusUrl: string;

  /** Time between two checks (also the period of its alarm). */
  public readonly schedulePeriod: Duration;

  /** A short description of the target for alarm texts. */
  public readonly targetDescription: string;

  /** Name of the canary's log group (`/aws/lambda/cwsyn-<canary>-<id>`, known after deployment). */
  public readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: CasperCanaryProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const v = validate(ownerOf(this, OWNER), props);
    const restPort = props.network?.restPort ?? 8888;
    this.statusUrl = props.statusUrl ?? `http://${props.elasticIp!.publicIp}:${restPort}/status`;
    this.schedulePeriod = v.interval;
    this.targetDescription = props.statusUrl ? props.statusUrl : 'the node status endpoint';

    this.artifactsBucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: props.removalPolicy === RemovalPolicy.DESTROY,
      lifecycleRules: [{ expiration: v.artifactsExpiration, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    if (props.removalPolicy === RemovalPolicy.DESTROY) skipAutoDeleteObjectsProvider(this);

    const environmentVariables: { [key: string]: string } = {
      CASPER_STATUS_URL: this.statusUrl,
      CASPER_MAX_BLOCK_AGE_SECONDS: String(v.maxBlockAgeSeconds),
      CASPER_REQUEST_TIMEOUT_MS: String(v.requestTimeoutMs),
      CASPER_FAIL_ON_CATCH_UP: String(props.failOnCatchUp ?? false),
    };
    if (props.network) environmentVariables.CASPER_EXPECTED_CHAINSPEC = props.network.chainspecName;

    this.canary = new synthetics.Canary(this, 'Canary', {
      runtime: v.runtime,
      test: synthetics.Test.custom({
        code: synthetics.Code.fromAsset(CANARY_CODE_DIR),
        handler: 'casper-canary.handler',
      }),
      schedule: synthetics.Schedule.rate(v.interval),
      artifactsBucketLocation: { bucket: this.artifactsBucket },
      environmentVariables,
      // A run may take the request timeout plus start-up; never more than the interval.
      timeout: Duration.seconds(Math.min(v.interval.toSeconds(), 120)),
      provisionedResourceCleanup: true,
    });

    // The canary's Lambda function (and so its log group) is named by
    // Synthetics with an id known only after creation: read it, then create
    // the log group with a retention before the first run logs into it.
    // Where GetCanary reports the function depends on the runtime (see engineArnPath).
    const enginePath = engineArnPath(v.runtime);
    const stack = Stack.of(this);
    const canaryArn = stack.formatArn({ service: 'synthetics', resource: 'canary', resourceName: this.canary.canaryName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const getCanary = new cr.AwsCustomResource(this, 'CanaryEngine', {
      onUpdate: {
        service: 'Synthetics',
        action: 'getCanary',
        parameters: { Name: this.canary.canaryName },
        physicalResourceId: cr.PhysicalResourceId.of(this.canary.canaryName),
        outputPaths: [enginePath],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['synthetics:GetCanary'], resources: [canaryArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    const functionName = Fn.select(6, Fn.split(':', getCanary.getResponseField(enginePath)));
    this.logGroupName = `/aws/lambda/${functionName}`;
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/lambda/cwsyn-*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const logsPolicy = cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], resources: [logGroupArn] }),
    ]);
    const createLogGroup = new cr.AwsCustomResource(this, 'LogGroup', {
      onUpdate: {
        service: 'CloudWatchLogs',
        action: 'createLogGroup',
        parameters: { logGroupName: this.logGroupName },
        physicalResourceId: cr.PhysicalResourceId.of(this.logGroupName),
        ignoreErrorCodesMatching: 'ResourceAlreadyExistsException',
      },
      policy: logsPolicy,
      installLatestAwsSdk: false,
    });
    const retention = new cr.AwsCustomResource(this, 'LogRetention', {
      onUpdate: {
        service: 'CloudWatchLogs',
        action: 'putRetentionPolicy',
        parameters: { logGroupName: this.logGroupName, retentionInDays: props.logRetention ?? logs.RetentionDays.ONE_MONTH },
        physicalResourceId: cr.PhysicalResourceId.of(`${this.logGroupName}:retention`),
      },
      policy: logsPolicy,
      installLatestAwsSdk: false,
    });
    retention.node.addDependency(createLogGroup);

    this.acknowledgeNagFindings(logGroupArn);
    this.skipCheckovFindings();
  }

  /** Percentage of successful runs (CloudWatchSynthetics `SuccessPercent`). */
  public metricSuccessPercent(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.canary.metricSuccessPercent({ period: this.schedulePeriod, ...options });
  }

  /** Duration of the runs, in milliseconds. */
  public metricDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.canary.metricDuration({ period: this.schedulePeriod, ...options });
  }

  private acknowledgeNagFindings(logGroupArn: string): void {
    acknowledgeNagRules(this.artifactsBucket, [
      { id: 'AwsSolutions-S1', reason: 'Run artifacts are written only by the canary and expire; a server access log bucket would hold more than the artifacts themselves.' },
    ]);
    acknowledgeNagRules(this.canary.role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The Synthetics runtime lists buckets (s3:ListAllMyBuckets has no resource scope) and puts metrics only into the CloudWatchSynthetics namespace (condition); it writes run artifacts as any key of its own bucket.',
      appliesTo: ['Resource::*', `Resource::${nagFindingName(this, this.artifactsBucket.arnForObjects('*'))}`],
    }]);
    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Synthetics names the canary function cwsyn-<name>-<id> only at creation; the log-group custom resources may touch only such log groups.',
      appliesTo: [`Resource::${nagFindingName(this, logGroupArn)}`],
    }]);
    // The provider function CDK shares among all AwsCustomResources in the stack.
    const provider = Stack.of(this).node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (provider) {
      acknowledgeNagRules(provider, [
        { id: 'AwsSolutions-IAM4', reason: 'CDK\'s AwsCustomResource provider logs with the AWS-managed basic execution policy.', appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
        { id: 'AwsSolutions-L1', reason: 'The runtime of CDK\'s AwsCustomResource provider is chosen by aws-cdk-lib and moves with it.' },
      ]);
    }
  }

  private skipCheckovFindings(): void {
    skipCheckov(this.artifactsBucket.node.defaultChild!, [
      { id: 'CKV_AWS_18', comment: 'Run artifacts are written only by the canary and expire; a server access log bucket would hold more than the artifacts themselves.' },
      { id: 'CKV_AWS_21', comment: 'Run artifacts (reports, logs) are new objects every run and expire after artifactsExpiration; versioning would only keep expired artifacts as noncurrent versions, with nothing worth restoring.' },
    ]);
    // The provider function CDK shares among all AwsCustomResources in the stack.
    const provider = Stack.of(this).node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (provider) {
      skipCheckov(provider.node.defaultChild ?? provider, deployTimeProviderSkips('CDK\'s AwsCustomResource provider calls only '
        + 'regional AWS APIs at deploy time (here Synthetics GetCanary and CloudWatch Logs, to create the canary\'s log group with '
        + 'a retention); it reaches nothing inside a VPC, and a VPC would only add network interfaces and EC2 permissions to its role.'));
    }
  }
}

/** Runtimes the canary script is written for: `syn-nodejs-puppeteer-<major>.<minor>`. */
const PUPPETEER_RUNTIME = /^syn-nodejs-puppeteer-(\d+)\.(\d+)$/;

/**
 * Where `synthetics:GetCanary` reports the canary's Lambda function (its "engine"):
 * the Synthetics API model (botocore `synthetics/2017-10-11`, `Canary.EngineConfigs`) documents
 * that `syn-nodejs-puppeteer-11.0` and later use `EngineConfigs` only (one entry per browser;
 * the canary sets no browser, so one: Chrome) and no longer return `EngineArn`, which older
 * runtimes keep returning.
 */
function engineArnPath(runtime: synthetics.Runtime): string {
  const major = Number(PUPPETEER_RUNTIME.exec(runtime.name)![1]);
  return major >= 11 ? 'Canary.EngineConfigs.0.EngineArn' : 'Canary.EngineArn';
}

interface Validated {
  readonly runtime: synthetics.Runtime;
  readonly interval: Duration;
  readonly maxBlockAgeSeconds: number;
  readonly requestTimeoutMs: number;
  readonly artifactsExpiration: Duration;
}

function validate(owner: Owner, props: CasperCanaryProps): Validated {
  const fail = failFor(owner);
  if ((props.elasticIp === undefined) === (props.statusUrl === undefined)) {
    fail('statusUrl', props.statusUrl ?? null, 'give exactly one of elasticIp and statusUrl');
  }
  if (props.statusUrl !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(props.statusUrl)) {
    fail('statusUrl', props.statusUrl, 'must be an http:// or https:// URL such as "http://203.0.113.10:8888/status"');
  }
  const runtime = props.runtime ?? synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0;
  if (!PUPPETEER_RUNTIME.test(runtime.name)) {
    fail('runtime', runtime.name, 'must be a Node.js Puppeteer runtime such as "syn-nodejs-puppeteer-13.0" '
      + '(synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_*): the canary script is written for it');
  }
  const interval = props.interval ?? Duration.minutes(5);
  const minutes = interval.toSeconds({ integral: false }) / 60;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
    fail('interval', describeDuration(interval), 'must be whole minutes from 1 to 60');
  }
  const maxBlockAge = validateDuration(owner, 'maxBlockAge', props.maxBlockAge ?? Duration.minutes(10), Duration.minutes(1), Duration.days(1));
  const maxBlockAgeSeconds = maxBlockAge.toSeconds({ integral: false });
  const timeout = validateDuration(owner, 'requestTimeout', props.requestTimeout ?? Duration.seconds(10), Duration.seconds(1), Duration.seconds(60));
  const timeoutMs = timeout.toMilliseconds();
  const artifactsExpiration = props.artifactsExpiration ?? Duration.days(30);
  const days = artifactsExpiration.toSeconds({ integral: false }) / 86400;
  if (!Number.isInteger(days) || days < 1) {
    fail('artifactsExpiration', describeDuration(artifactsExpiration), 'must be whole days, at least 1');
  }
  return { runtime, interval, maxBlockAgeSeconds, requestTimeoutMs: timeoutMs, artifactsExpiration };
}
