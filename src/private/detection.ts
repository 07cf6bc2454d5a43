/**
 * Worst-case time from a failure to an alarm in ALARM, from an alarm's
 * synthesized period and datapoint count. Pure, so the README's detection
 * table and its test read the same numbers.
 */

/** Seconds from a sample leaving the instance to its datapoint in CloudWatch (agent flush 5 s + ingestion, estimated). */
export const DELIVERY_SECONDS = 15;

/** What the worst case depends on. */
export interface DetectionInput {
  /** Seconds from the failure until the metric can cross the threshold (for block age: the threshold itself). */
  readonly thresholdDelaySeconds: number;
  /** Seconds between two samples of the metric. */
  readonly sampleIntervalSeconds: number;
  /** The alarm's period in seconds. */
  readonly periodSeconds: number;
  /** Breaching datapoints needed (DatapointsToAlarm, else EvaluationPeriods). */
  readonly datapointsToAlarm: number;
}

/**
 * The worst case, in seconds: the metric needs `thresholdDelaySeconds` to
 * cross the threshold; the first sample that sees it comes up to one sample
 * interval later; then `datapointsToAlarm` whole periods must breach; the
 * alarm is evaluated once per period for high-resolution periods (under 60 s)
 * and once a minute otherwise; and the datapoint needs `DELIVERY_SECONDS` to
 * arrive.
 */
export function worstCaseDetectionSeconds(input: DetectionInput): number {
  const evaluationLag = input.periodSeconds < 60 ? input.periodSeconds : 60;
  return input.thresholdDelaySeconds + input.sampleIntervalSeconds
    + input.datapointsToAlarm * input.periodSeconds + evaluationLag + DELIVERY_SECONDS;
}
