/**
 * Lambda entry point of the data-volume lifecycle workflow's steps (bundled by
 * projen into `DataVolumeLifecycleFunction`; the AWS SDK stays external).
 *
 * The workflow calls it with `{ op: 'advance', state }` until the state is
 * `done` or `abandoned`, and with `{ op: 'abandon', state, error }` from its
 * catch-all. The configuration is read from the environment on every call
 * (`configFromEnv`), so a bad value abandons the action with one clear line.
 */
// The AWS SDK comes with the Lambda Node.js runtime (left external by the bundler).
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { dispatchStep, LifecycleState, StepInput } from './handlers/data-volume-lifecycle';

// Made once per execution environment and reused across invocations.
let clients: { ec2: EC2Client; autoScaling: AutoScalingClient } | undefined;

export const handler = async (input: StepInput): Promise<LifecycleState> => {
  clients ??= { ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}) };
  return dispatchStep(input, { ...clients, env: process.env });
};
