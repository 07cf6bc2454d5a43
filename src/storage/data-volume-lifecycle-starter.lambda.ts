/**
 * Lambda entry point of the data-volume lifecycle's starter (bundled by projen
 * into `DataVolumeLifecycleStarterFunction`; the AWS SDK stays external).
 *
 * EventBridge delivers the group's lifecycle actions and failed launches. A
 * lifecycle action starts one workflow execution named after its token, so a
 * duplicate event starts nothing; a failed launch may move the group out of
 * its home AZ. Errors are thrown, so that EventBridge retries.
 */
// The AWS SDK comes with the Lambda Node.js runtime (left external by the bundler).
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { AutoScalingEvent, StartResult, startLifecycle } from './handlers/data-volume-lifecycle';

let clients: { ec2: EC2Client; autoScaling: AutoScalingClient; sfn: SFNClient } | undefined;

export const handler = async (event: AutoScalingEvent): Promise<StartResult> => {
  clients ??= { ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}), sfn: new SFNClient({}) };
  return startLifecycle(event, { ...clients, env: process.env });
};
