// Lambda entry point of SnapshotRotation: bundled by projen (esbuild, Node.js 22,
// @aws-sdk/* external). The logic lives in ./handlers/snapshot-rotation.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { configFromEnv, rotateSnapshots, RotationSummary } from './handlers/snapshot-rotation';

/** Time kept free at the end of the Lambda timeout: no deletion starts in it (the rest waits for the next run). */
const RESERVE_MS = 60_000;

// Reused by the invocations of a warm container; adaptive retries ride out EC2 API throttling.
const ec2 = new EC2Client({ maxAttempts: 8, retryMode: 'adaptive' });
const cloudwatch = new CloudWatchClient({ maxAttempts: 5 });

export async function handler(_event: unknown, context?: Context): Promise<RotationSummary> {
  const config = configFromEnv(process.env);
  const remaining = context?.getRemainingTimeInMillis();
  const deadlineMs = remaining === undefined ? undefined : Date.now() + remaining - Math.min(RESERVE_MS, remaining / 5);
  return rotateSnapshots(config, { ec2, cloudwatch, deadlineMs });
}
