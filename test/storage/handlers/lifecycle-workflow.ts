/**
 * Runs the data-volume lifecycle's real state machine: the definition is taken
 * from a synthesized `DataVolumeLifecycle` and executed in-process by
 * aws-local-stepfunctions. Its Task states are bound to the real code: the
 * step function's `dispatchStep` (on moto through the `Ec2Tap`) and, for the
 * Heartbeat task, the SDK call its parameters describe (to the recording
 * `LifecycleDouble`). Wait states take no real time: the fake clock moves by
 * the seconds the workflow asked to wait.
 */
import { RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Ec2Tap, FakeClock, LifecycleDouble } from './lifecycle-harness';
import { DataVolumeLifecycle } from '../../../src';
import { dispatchStep, LifecycleConfig, LifecycleState, StepInput } from '../../../src/storage/handlers/data-volume-lifecycle';

// aws-local-stepfunctions 3 asks for Node.js 22; on Node.js 20 the one newer API
// it uses is Promise.withResolvers (ES2024), added here with its standard meaning.
if (!(Promise as any).withResolvers) {
  (Promise as any).withResolvers = <T>() => {
    let settle!: (value: T) => void;
    let fail!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => { settle = res; fail = rej; });
    return { promise, resolve: settle, reject: fail };
  };
}

// The package is an ES module with a CommonJS build: jest (CommonJS) loads that one.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as { StateMachine: new (definition: unknown, options?: unknown) => LocalStateMachine };

/** The part of aws-local-stepfunctions' StateMachine the runner uses. */
interface LocalStateMachine {
  run(input: unknown, options?: unknown): { result: Promise<any> };
}

const ACCOUNT = '111122223333';

/** Resolves the CloudFormation functions a definition string is built with to fixed values. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(resolve).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']) return `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${v['Fn::GetAtt'][0]}`;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v.Ref === 'AWS::Region') return 'us-east-1';
  if (v.Ref === 'AWS::AccountId') return ACCOUNT;
  if (v.Ref === 'AWS::StackName') return 'Test';
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the definition`);
}

/** The state machine definition `DataVolumeLifecycle` synthesizes (Amazon States Language). */
export function synthesizedDefinition(): any {
  const stack = new Stack(undefined, 'Test', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
  const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    launchTemplate: new ec2.LaunchTemplate(stack, 'Lt', { instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023() }),
    minCapacity: 1,
    maxCapacity: 1,
  });
  new DataVolumeLifecycle(stack, 'Lifecycle', {
    autoScalingGroup: asg, nodeName: 'reader-1', elasticIpAllocationId: 'eipalloc-0123456789abcdef0', groupSubnets: vpc.publicSubnets,
  });
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines);
  return JSON.parse(resolve(machine.Properties.DefinitionString));
}

/** Captured output of one execution. */
export interface Output {
  readonly logs: string[];
  readonly errors: string[];
  readonly metrics: any[];
}

/** The end of one execution. */
export interface Execution {
  /** The execution's final state (its output, or the state it failed with). */
  readonly state: LifecycleState;
  /** Whether the execution ended in a Fail state. */
  readonly failed: boolean;
  /** Step function invocations (no invocation ever waits). */
  readonly steps: number;
  /** Seconds the workflow waited in Wait states. */
  readonly waitedSeconds: number;
  readonly out: Output;
}

/** Runs executions of the synthesized workflow against one test world. */
export class WorkflowRunner {
  private readonly machine: LocalStateMachine;

  constructor(
    definition: any,
    private readonly deps: {
      readonly tap: Ec2Tap;
      readonly lifecycle: LifecycleDouble;
      readonly clock: FakeClock;
      config: LifecycleConfig;
      /** Runs before each step with the state it will get (a test's hook into the world). */
      onStep?: (state: LifecycleState, stepNumber: number) => Promise<void> | void;
    },
  ) {
    this.machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  }

  /** Changes the configuration for the next executions. */
  public configure(changes: Partial<LifecycleConfig>): void {
    this.deps.config = { ...this.deps.config, ...changes };
  }

  /** Sets the hook called before each step. */
  public onStep(hook: (state: LifecycleState, stepNumber: number) => Promise<void> | void): void {
    this.deps.onStep = hook;
  }

  /** Runs one execution with the input the starter gives: `{ detail }` of a lifecycle action event. */
  public async run(event: { detail?: any }): Promise<Execution> {
    const out: Output = { logs: [], errors: [], metrics: [] };
    const { tap, lifecycle, clock } = this.deps;
    let steps = 0;
    let waitedSeconds = 0;
    let last: LifecycleState | undefined;
    const options = () => ({
      config: this.deps.config,
      ec2: tap.client,
      autoScaling: lifecycle.client,
      now: clock.now,
      log: (line: string) => out.logs.push(line),
      logError: (line: string) => out.errors.push(line),
      emitMetric: (line: string) => out.metrics.push(JSON.parse(line)),
    });
    const step = async (input: any): Promise<any> => {
      const previous = (input as StepInput).state as LifecycleState;
      if (previous.status === 'wait' && previous.waitSeconds > 0) {
        // The Wait state before this step: the fake clock moves instead.
        clock.advance(previous.waitSeconds * 1000);
        waitedSeconds += previous.waitSeconds;
      }
      steps++;
      await this.deps.onStep?.(previous, steps);
      last = await dispatchStep(input, options());
      return last;
    };
    const execution = this.machine.run({ detail: event.detail }, {
      overrides: {
        taskResourceLocalHandlers: {
          Advance: step,
          Abandon: step,
          Heartbeat: async (params: any) => {
            await lifecycle.client.send(new RecordLifecycleActionHeartbeatCommand(params));
            return {};
          },
        },
        waitTimeOverrides: { Wait: 0 },
        retryIntervalOverrides: { Advance: 0, Abandon: 0 },
      },
    });
    try {
      const state = await execution.result;
      return { state, failed: false, steps, waitedSeconds, out };
    } catch (err) {
      // A Fail state: the execution's result is the last state a step returned.
      if (!last) throw err;
      return { state: last, failed: true, steps, waitedSeconds, out };
    }
  }
}
