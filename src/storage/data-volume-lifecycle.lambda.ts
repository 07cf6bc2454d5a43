/**
 * Lambda entry point of the data-volume lifecycle handler (bundled by projen
 * into `DataVolumeLifecycleFunction`; the AWS SDK stays external).
 *
 * The typed configuration is read from the environment on every invocation
 * (`configFromEnv`): NODE_NAME, VOLUME_SIZE_GIB, VOLUME_IOPS,
 * VOLUME_THROUGHPUT_MIBPS, VOLUME_KMS_KEY_ID, DEVICE_NAME, INSTANCE_TAG_KEY,
 * ELASTIC_IP_ALLOCATION_ID, KEEP_OLD_VOLUME, WAIT_BUDGET_SECONDS,
 * METRIC_NAMESPACE. Reading it inside the handler means a bad value abandons
 * the lifecycle action with one clear error line instead of failing the
 * function's initialisation (which EventBridge would only retry).
 */
// The AWS SDK comes with the Lambda Node.js runtime (left external by the bundler).
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { handleLifecycleEvent, LifecycleEvent, LifecycleResult } from './handlers/data-volume-lifecycle';

/** The part of the Lambda context the handler uses. */
interface InvocationContext {
  getRemainingTimeInMillis?(): number;
}

// Made once per execution environment and reused across invocations.
let clients: { ec2: EC2Client; autoScaling: AutoScalingClient } | undefined;

export const handler = async (event: LifecycleEvent, context?: InvocationContext): Promise<LifecycleResult> => {
  clients ??= { ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}) };
  return handleLifecycleEvent(event, {
    ...clients,
    env: process.env,
    remainingTimeMs: context?.getRemainingTimeInMillis?.(),
  });
};
