import { EMF_ENDPOINT, LOG_FLUSH_SECONDS, NODE_LOG_FILES, renderAgentConfig, AgentConfigInput } from '../../src/private/agent-config';

const INPUT: AgentConfigInput = {
  namespace: 'casper-casper-test',
  nodeName: 'reader-1',
  intervalSeconds: 30,
  dataMountPoint: '/var/lib/casper/casper-node',
  nodeLogGroupName: 'node-log-group',
  nodeStderrLogGroupName: 'node-stderr-log-group',
  bootstrapLogGroupName: 'bootstrap-log-group',
};

describe('renderAgentConfig', () => {
  test('the whole configuration', () => {
    const dims = { NodeName: 'reader-1' };
    expect(renderAgentConfig(INPUT)).toEqual({
      agent: {
        metrics_collection_interval: 30,
        omit_hostname: true,
      },
      metrics: {
        namespace: 'casper-casper-test',
        metrics_collected: {
          cpu: {
            measurement: ['usage_active'],
            totalcpu: true,
            metrics_collection_interval: 30,
            append_dimensions: dims,
          },
          mem: {
            measurement: ['used', 'used_percent'],
            metrics_collection_interval: 30,
            append_dimensions: dims,
          },
          disk: {
            measurement: ['total', 'used', 'used_percent'],
            resources: ['/', '/var/lib/casper/casper-node'],
            drop_device: true,
            metrics_collection_interval: 30,
            append_dimensions: dims,
          },
        },
      },
      logs: {
        force_flush_interval: 5,
        metrics_collected: { emf: {} },
        logs_collected: {
          files: {
            collect_list: [
              { file_path: '/var/log/casper/casper-node.log', log_group_name: 'node-log-group', log_stream_name: '{instance_id}' },
              { file_path: '/var/log/casper/casper-node.stderr.log', log_group_name: 'node-stderr-log-group', log_stream_name: '{instance_id}' },
              { file_path: '/var/log/casper-bootstrap.log', log_group_name: 'bootstrap-log-group', log_stream_name: '{instance_id}' },
            ],
          },
        },
      },
    });
  });

  test('metrics carry NodeName only, never the instance id or host name, so they survive instance replacement', () => {
    const config = renderAgentConfig(INPUT);
    // A top-level append_dimensions (where "${aws:InstanceId}" usually goes) would split every series per instance.
    expect(config.metrics).not.toHaveProperty('append_dimensions');
    expect(config.agent).not.toHaveProperty('append_dimensions');
    expect(config.metrics).not.toHaveProperty('aggregation_dimensions');
    expect(config.agent.omit_hostname).toBe(true);
    for (const section of Object.values(config.metrics.metrics_collected) as any[]) {
      expect(section.append_dimensions).toEqual({ NodeName: 'reader-1' });
    }
    expect(JSON.stringify(config)).not.toMatch(/InstanceId|InstanceType|ImageId|AutoScalingGroupName/);
    // The device name (nvme1n1, xvdf...) changes with the instance type; dropping it keeps the disk series stable.
    expect(config.metrics.metrics_collected.disk.drop_device).toBe(true);
  });

  test('the interval, node name, namespace and data mount point come from the input', () => {
    const config = renderAgentConfig({ ...INPUT, namespace: 'my/ns', nodeName: 'n2', intervalSeconds: 60, dataMountPoint: '/data' });
    expect(config.metrics.namespace).toBe('my/ns');
    expect(config.agent.metrics_collection_interval).toBe(60);
    for (const section of Object.values(config.metrics.metrics_collected) as any[]) {
      expect(section.metrics_collection_interval).toBe(60);
      expect(section.append_dimensions).toEqual({ NodeName: 'n2' });
    }
    expect(config.metrics.metrics_collected.disk.resources).toEqual(['/', '/data']);
  });

  test('the EMF listener the metrics collector sends to is on, and logs flush every 5 seconds', () => {
    const config = renderAgentConfig(INPUT);
    expect(config.logs.metrics_collected).toEqual({ emf: {} });
    // The agent's EMF listener defaults to tcp/udp 127.0.0.1:25888, which the collector is pointed at.
    expect(EMF_ENDPOINT).toBe('tcp://127.0.0.1:25888');
    expect(config.logs.force_flush_interval).toBe(LOG_FLUSH_SECONDS);
    expect(LOG_FLUSH_SECONDS).toBe(5);
  });

  test('ships the three node log files, each to its own log group, one stream per instance', () => {
    const list = renderAgentConfig(INPUT).logs.logs_collected.files.collect_list as any[];
    expect(list.map((f) => [f.file_path, f.log_group_name])).toEqual([
      [NODE_LOG_FILES.node, 'node-log-group'],
      [NODE_LOG_FILES.stderr, 'node-stderr-log-group'],
      [NODE_LOG_FILES.bootstrap, 'bootstrap-log-group'],
    ]);
    expect(new Set(list.map((f) => f.log_stream_name))).toEqual(new Set(['{instance_id}']));
  });

  test('is JSON-serializable without loss', () => {
    const config = renderAgentConfig(INPUT);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });
});
