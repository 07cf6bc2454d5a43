import { CasperNetwork } from '../../src';
import { renderNodeConfig } from '../../src/private/node-config';

describe('renderNodeConfig', () => {
  const base = {
    network: CasperNetwork.TESTNET,
    nodeName: 'reader-1',
    region: 'us-east-1',
    signingKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf',
    dataVolumeWaitSeconds: 900,
    readyWaitSeconds: 3600,
    restartAfterSeconds: 900,
    unhealthyAfterSeconds: 1500,
  };

  test('renders the document the bootstrap reads', () => {
    expect(renderNodeConfig({
      ...base,
      trustedHash: 'ab'.repeat(32),
      cloudWatchAgentConfigParameterName: '/casper/agent',
      metricsNamespace: 'Casper/Node',
      metricsLogGroupName: '/casper/reader-1/metrics',
    })).toEqual({
      schemaVersion: 1,
      nodeName: 'reader-1',
      region: 'us-east-1',
      network: { chainspecName: 'casper-test', networkConfigFileName: 'casper-test.conf', runsSidecar: true, restPort: 8888 },
      trustedHash: 'ab'.repeat(32),
      signingKeySecretArn: base.signingKeySecretArn,
      dataVolume: { instanceTagKey: 'casper:data-volume', mountPoint: '/var/lib/casper/casper-node', deviceWaitSeconds: 900, filesystem: 'ext4' },
      cloudWatchAgent: { configParameterName: '/casper/agent' },
      metrics: { namespace: 'Casper/Node', logGroupName: '/casper/reader-1/metrics' },
      openFilesLimit: 64000,
      aptRepository: { url: 'https://repo.casper.network/releases', keyUrl: 'https://repo.casper.network/casper-repo-pubkey.gpg', suite: 'jammy' },
      libssl11DebUrl: expect.stringMatching(/^http:\/\/security\.ubuntu\.com\/ubuntu\/pool\/main\/o\/openssl\/libssl1\.1_.*_amd64\.deb$/),
      health: { readyWaitSeconds: 3600, restartAfterSeconds: 900, unhealthyAfterSeconds: 1500 },
    });
  });

  test('empty trusted hash, agent parameter and metrics when not given (the bootstrap skips them)', () => {
    const doc = renderNodeConfig(base);
    expect(doc.trustedHash).toBe('');
    expect(doc.cloudWatchAgent).toEqual({ configParameterName: '' });
    expect(doc.metrics).toEqual({ namespace: '', logGroupName: '' });
  });

  test('mainnet without the sidecar on a custom network', () => {
    const doc = renderNodeConfig({ ...base, network: CasperNetwork.custom({ chainspecName: 'old-net', runsSidecar: false, restPort: 18888 }) });
    expect(doc.network).toEqual({ chainspecName: 'old-net', networkConfigFileName: 'old-net.conf', runsSidecar: false, restPort: 18888 });
  });
});
