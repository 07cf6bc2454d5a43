import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperNetwork } from '../casper-network';
import { handlerFunction, HandlerNetwork, networkInterfacesArn, vpcAccessStatements } from '../private/handler-function';
import { acknowledgeNagRules, nagFindingName } from '../private/nag';
import { CasperValidationError, describeDuration, Owner, ownerOf, validateDuration } from '../private/validation';

/**
 * Properties of a `CasperRpcProbe`.
 */
export interface CasperRpcProbeProps {
  /** The VPC the probe runs in: the one the endpoint (such as an internal load balancer) is reachable from. */
  readonly vpc: ec2.IVpc;

  /**
   * Where in the VPC the probe runs. A function in a public subnet gets no public
   * address: it reaches what is inside the VPC, which is all it needs.
   *
   * @default - the VPC's public subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The JSON-RPC URL to check, such as a `CasperNodeFleet`'s `rpcUrl`
   * (`http://<load balancer>:7777/rpc`). http or https; the port (default 80 or
   * 443) is the probe's `connections` default port.
   */
  readonly rpcUrl: string;

  /** The network the endpoint must serve: its chainspec name is expected in the answer. */
  readonly network: CasperNetwork;

  /**
   * Oldest acceptable last block (1 minute to 1 day); an older one fails the check.
   *
   * @default Duration.minutes(10)
   */
  readonly maxBlockAge?: Duration;

  /**
   * Time between two checks: whole minutes from 1 to 60. Also the alarm's period.
   *
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;

  /**
   * Where the alarm (and its return to OK) is sent.
   *
   * @default - no action: the alarm is only created
   */
  readonly topic?: sns.ITopic;

  /**
   * How long the probe's log group keeps logs (one line per check).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the probe's log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const OWNER = 'CasperRpcProbe';

/** Checks in a row that must fail (or not run) before the alarm fires. */
const FAILED_CHECKS_TO_ALARM = 3;

/** How long one request may take (connect, headers and body). */
const REQUEST_TIMEOUT = Duration.seconds(5);

/** `http(s)://host[:port][/path]`; the host may be a token (such as a load balancer's DNS name). */
const RPC_URL = /^(https?):\/\/[^\s/:?#]+(?::(\d{1,5}))?(?:[/?#]\S*)?$/;

/**
 * Checks a Casper JSON-RPC endpoint from inside a VPC, such as a fleet's internal
 * load balancer: a Lambda function in the VPC, run every `interval` by an EventBridge
 * rule, posts `info_get_status` and fails unless the answer is a JSON-RPC result on the
 * expected chainspec whose last block is younger than `maxBlockAge`.
 *
 * A failed check is an error of the function, counted in its `AWS/Lambda` `Errors`
 * metric, which the Lambda service publishes; the function itself calls no AWS API,
 * and its logs are delivered by the service, so the VPC needs no NAT and no endpoint.
 * `alarm` fires after 3 checks in a row fail or do not run at all (the schedule
 * stopped, or the function cannot start).
 *
 * The function's security group allows no traffic out until it is allowed to the
 * endpoint, for example `fleet.connections.allowFrom(probe, ec2.Port.tcp(7777))`.
 */
export class CasperRpcProbe extends Construct implements ec2.IConnectable {
  /** The probe function. */
  public readonly handler: lambda.IFunction;

  /** The schedule rule. */
  public readonly rule: events.Rule;

  /** Three checks in a row failed or did not run. */
  public readonly alarm: cloudwatch.Alarm;

  /** The function's security group; its default port is the URL's. */
  public readonly connections: ec2.Connections;

  /** The URL the probe checks. */
  public readonly rpcUrl: string;

  /** Time between two checks (also the period of the alarm and the metrics). */
  public readonly interval: Duration;

  constructor(scope: Construct, id: string, props: CasperRpcProbeProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const v = validate(ownerOf(this, OWNER), props);
    this.rpcUrl = props.rpcUrl;
    this.interval = v.interval;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Casper RPC probe of ${props.network.chainspecName}: out to the endpoint only`,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(v.port) });
    const network: HandlerNetwork = {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup,
    };

    const { logGroup, fn } = handlerFunction(this, {
      idPrefix: '',
      functionId: 'Handler',
      bundle: 'monitoring/casper-rpc-probe.lambda',
      description: `Casper RPC probe: info_get_status on ${props.network.chainspecName}`,
      roleDescription: `Casper RPC probe of ${props.network.chainspecName} (network interfaces in its VPC, its logs)`,
      statements: vpcAccessStatements(this, network),
      network,
      // The request's timeout plus the start of a cold function; the next check starts an interval later.
      timeout: Duration.seconds(30),
      environment: {
        RPC_URL: props.rpcUrl,
        EXPECTED_CHAINSPEC: props.network.chainspecName,
        MAX_BLOCK_AGE_SECONDS: String(v.maxBlockAgeSeconds),
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT.toMilliseconds()),
      },
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logRemovalPolicy: props.removalPolicy,
      logContents: 'One line per check (the verdict: height, era, block age, or why it failed), no secrets',
      invokedBy: `its schedule rule (every ${describeDuration(v.interval)})`,
      failureHandling: 'A failure is the signal: it counts in the function\'s Errors metric, which the probe\'s alarm watches; '
        + 'a retried or dead-lettered check would only repeat a stale one, and the next scheduled check comes an interval later.',
      services: 'none',
      environmentContents: 'the RPC URL, the chainspec name and two numbers',
    });
    this.handler = fn;
    // One check per run: a failed one is not retried (the next run is the retry).
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(Math.max(60, v.interval.toSeconds())) });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Casper RPC probe of ${props.network.chainspecName}`,
      schedule: events.Schedule.rate(v.interval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.seconds(Math.max(60, v.interval.toSeconds())) })],
    });

    const period = v.interval;
    const expression = new cloudwatch.MathExpression({
      expression: 'IF(FILL(invocations, 0) < 1 OR FILL(errors, 0) >= 1, 1, 0)',
      usingMetrics: {
        invocations: this.metricInvocations({ period }),
        errors: this.metricFailures({ period }),
      },
      label: 'RPC check failed or did not run',
      period,
    });
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription: `Casper RPC probe: ${props.rpcUrl} failed ${FAILED_CHECKS_TO_ALARM} checks in a row, or the probe did not run `
        + `(no JSON-RPC info_get_status result on ${props.network.chainspecName} with a block younger than ${describeDuration(v.maxBlockAge)}). `
        + 'The reason of each failure is in the probe\'s log group.',
      metric: expression,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: FAILED_CHECKS_TO_ALARM,
      datapointsToAlarm: FAILED_CHECKS_TO_ALARM,
      // No datapoint at all: the function was not invoked (neither metric has data).
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (props.topic) {
      this.alarm.addAlarmAction(new cw_actions.SnsAction(props.topic));
      this.alarm.addOkAction(new cw_actions.SnsAction(props.topic));
    }

    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Lambda manages the function\'s network interfaces with its role: ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets '
        + 'have no resource-level permissions, and the interface ids are not known before Lambda creates them (creation is limited to '
        + 'the function\'s subnets and security group); the log stream names are made by Lambda in the function\'s own log group.',
      appliesTo: [
        'Resource::*',
        `Resource::${nagFindingName(this, networkInterfacesArn(this))}`,
        `Resource::${nagFindingName(this, `${logGroup.logGroupArn}:*`)}`,
      ],
    }]);
  }

  /** Failed checks (`AWS/Lambda` `Errors` of the function), Sum per interval. */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricErrors({ statistic: 'Sum', period: this.interval, ...props });
  }

  /** Checks run (`AWS/Lambda` `Invocations` of the function), Sum per interval. */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricInvocations({ statistic: 'Sum', period: this.interval, ...props });
  }

  /** How long a check takes (`AWS/Lambda` `Duration`), maximum per interval. */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricDuration({ statistic: 'Maximum', period: this.interval, ...props });
  }
}

interface Validated {
  readonly interval: Duration;
  readonly maxBlockAge: Duration;
  readonly maxBlockAgeSeconds: number;
  readonly port: number;
}

function validate(owner: Owner, props: CasperRpcProbeProps): Validated {
  const m = RPC_URL.exec(props.rpcUrl);
  if (!m) {
    throw new CasperValidationError(owner, 'rpcUrl', props.rpcUrl, 'must be an http:// or https:// URL such as "http://10.0.0.10:7777/rpc" or a load balancer\'s rpcUrl');
  }
  const port = m[2] !== undefined ? Number(m[2]) : (m[1] === 'https' ? 443 : 80);
  if (port < 1 || port > 65535) {
    throw new CasperValidationError(owner, 'rpcUrl', props.rpcUrl, 'its port must be from 1 to 65535');
  }
  const interval = props.interval ?? Duration.minutes(1);
  const minutes = interval.toSeconds({ integral: false }) / 60;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
    throw new CasperValidationError(owner, 'interval', describeDuration(interval), 'must be whole minutes from 1 to 60');
  }
  const maxBlockAge = validateDuration(owner, 'maxBlockAge', props.maxBlockAge ?? Duration.minutes(10), Duration.minutes(1), Duration.days(1));
  return { interval, maxBlockAge, maxBlockAgeSeconds: maxBlockAge.toSeconds({ integral: false }), port };
}
