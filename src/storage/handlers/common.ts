/**
 * What the storage handlers share: tag keys on the volumes and snapshots they
 * create, and their CloudWatch Embedded Metric Format output.
 */

/** Tag naming the creator of a volume or snapshot (`lifecycle`, `snapshot-rotation`). */
export const TAG_CREATED_BY = 'casper:created-by';

/** One metric of an EMF line. */
export interface EmfMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: 'Count' | 'Seconds';
}

/**
 * One CloudWatch Embedded Metric Format line with the dimension `NodeName`.
 * Lambda's log ingestion turns it into metrics: no API call, no permission.
 * The metric fields win over properties of the same name.
 */
export function emfLine(namespace: string, nodeName: string, metrics: EmfMetric[],
  properties: Record<string, unknown> = {}, timestampMs: number = Date.now()): string {
  const line: Record<string, unknown> = {
    ...properties,
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [['NodeName']],
        Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
      }],
    },
    NodeName: nodeName,
  };
  for (const m of metrics) line[m.name] = m.value;
  return JSON.stringify(line);
}
