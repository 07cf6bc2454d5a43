/**
 * The CloudWatch agent configuration of a Casper node, as a pure function so
 * it can be tested without synthesizing a stack.
 */

/** What the agent config is rendered from. */
export interface AgentConfigInput {
  /** Namespace of every metric. */
  readonly namespace: string;
  /** Value of the `NodeName` dimension. */
  readonly nodeName: string;
  /** Seconds between two samples of CPU, memory and disks. */
  readonly intervalSeconds: number;
  /** Mount point of the data volume. */
  readonly dataMountPoint: string;
  /** Log group of `casper-node.log` (JSON lines). */
  readonly nodeLogGroupName: string;
  /** Log group of `casper-node.stderr.log` (crash output). */
  readonly nodeStderrLogGroupName: string;
  /** Log group of the bootstrap log. */
  readonly bootstrapLogGroupName: string;
}

/** Files the agent ships, and where they come from. */
export const NODE_LOG_FILES = {
  node: '/var/log/casper/casper-node.log',
  stderr: '/var/log/casper/casper-node.stderr.log',
  bootstrap: '/var/log/casper-bootstrap.log',
};

/** The agent's EMF listener, which the metrics collector sends to. */
export const EMF_ENDPOINT = 'tcp://127.0.0.1:25888';

/** Seconds the agent buffers log lines (EMF included) before sending them. */
export const LOG_FLUSH_SECONDS = 5;

/**
 * Renders the agent's JSON configuration.
 *
 * - Metrics carry only `NodeName` (plus the plugin's own `cpu`, `path`,
 *   `fstype`): no host name (`omit_hostname`), no instance id, no device name
 *   (`drop_device`), so they continue across instance replacements.
 * - `logs.metrics_collected.emf` opens the local EMF listener the metrics
 *   collector sends to, so the collector needs no credentials.
 * - Log streams are named after the instance, within per-node log groups.
 */
export function renderAgentConfig(input: AgentConfigInput): { [key: string]: any } {
  const dims = { NodeName: input.nodeName };
  const interval = input.intervalSeconds;
  // One entry per line in every file (casper-node.log is JSON lines), so the
  // agent's default line handling and ingestion timestamps fit them all.
  const file = (path: string, group: string) => ({
    file_path: path,
    log_group_name: group,
    log_stream_name: '{instance_id}',
  });
  return {
    agent: {
      metrics_collection_interval: interval,
      omit_hostname: true,
    },
    metrics: {
      namespace: input.namespace,
      metrics_collected: {
        cpu: {
          measurement: ['usage_active'],
          totalcpu: true,
          metrics_collection_interval: interval,
          append_dimensions: dims,
        },
        mem: {
          measurement: ['used', 'used_percent'],
          metrics_collection_interval: interval,
          append_dimensions: dims,
        },
        disk: {
          measurement: ['total', 'used', 'used_percent'],
          resources: ['/', input.dataMountPoint],
          drop_device: true,
          metrics_collection_interval: interval,
          append_dimensions: dims,
        },
      },
    },
    logs: {
      force_flush_interval: LOG_FLUSH_SECONDS,
      metrics_collected: { emf: {} },
      logs_collected: {
        files: {
          collect_list: [
            file(NODE_LOG_FILES.node, input.nodeLogGroupName),
            file(NODE_LOG_FILES.stderr, input.nodeStderrLogGroupName),
            file(NODE_LOG_FILES.bootstrap, input.bootstrapLogGroupName),
          ],
        },
      },
    },
  };
}
