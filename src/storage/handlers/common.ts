/**
 * What the storage handlers share: tag keys on the volumes and snapshots they
 * create, and their CloudWatch Embedded Metric Format output.
 */


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

/** The AWS error code of an SDK error. */
export function errorName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string } | undefined;
  return e?.name ?? e?.Code ?? e?.code;
}

/** `InvalidVolume.NotFound`, `InvalidInstanceID.NotFound`, `InvalidSnapshot.NotFound`, ... */
export function isNotFound(err: unknown): boolean {
  return /NotFound$/.test(errorName(err) ?? '');
}

/** An error as one log line: `Name: message`, whitespace collapsed. */
export function oneLine(err: unknown): string {
  const e = err as { name?: string; message?: string } | undefined;
  const text = e && typeof e === 'object' && e.message
    ? (e.name && e.name !== 'Error' && !e.message.startsWith(e.name) ? `${e.name}: ${e.message}` : e.message)
    : String(err);
  return text.replace(/\s+/g, ' ').trim();
}

/** The value of `key` in an EC2 tag list. */
export function tagValue(tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}
