import { CasperNetwork } from '../../src';
import {
  DATA_VOLUME_TAG_WAIT_SECONDS, HEALTH_ENDPOINT_DEFAULT_MAX_BLOCK_AGE_SECONDS, HEALTH_ENDPOINT_DEFAULT_MIN_PEERS, HEALTH_ENDPOINT_DEFAULT_PORT,
  LIBSSL11_DEB, LIFECYCLE_LAUNCH_WORST_CASE_SECONDS, MEMBER_TAG_WAIT_SECONDS, readyWaitSeconds, renderNodeConfig,
} from '../../src/private/node-config';
import { TESTNET_CONFIG_NETWORK } from '../support/node-expectations';

describe('renderNodeConfig', () => {
  const base = {
    network: CasperNetwork.TESTNET,
    nodeName: 'reader-1',
    region: 'us-east-1',
    publicIp: '203.0.113.10',
    signingKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf',
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
      healthEndpoint: { port: 8889, maxBlockAgeSeconds: 300, minPeers: 4 },
    })).toEqual({
      schemaVersion: 2,
      nodeName: 'reader-1',
      region: 'us-east-1',
      publicIp: '203.0.113.10',
      network: TESTNET_CONFIG_NETWORK,
      trustedHash: 'ab'.repeat(32),
      trustedHashFromPeers: { minAgreeingPeers: 2, attempts: 10, intervalSeconds: 15 },
      signingKeySecretArn: base.signingKeySecretArn,
      dataVolume: {
        instanceTagKey: 'casper:data-volume',
        mountPoint: '/var/lib/casper/casper-node',
        pendingWaitSeconds: 90000,
        tagWaitSeconds: 1020,
        deviceWaitSeconds: 300,
        filesystem: 'ext4',
      },
      cloudWatchAgent: { configParameterName: '/casper/agent' },
      metrics: { namespace: 'Casper/Node', logGroupName: '/casper/reader-1/metrics' },
      openFilesLimit: 64000,
      aptRepository: { url: 'https://repo.casper.network/releases', keyUrl: 'https://repo.casper.network/casper-repo-pubkey.gpg', suite: 'jammy' },
      libssl11Deb: {
        url: 'http://security.ubuntu.com/ubuntu/pool/main/o/openssl/libssl1.1_1.1.1f-1ubuntu2.24_amd64.deb',
        sha256: '7cf39d70a639017d1dd7c8d36daa2258063608688e449fddf40ffdd46f992a78',
      },
      protocolStaging: { timeoutSeconds: 1800 },
      health: { readyWaitSeconds: 3600, readyStableSeconds: 180, restartAfterSeconds: 900, unhealthyAfterSeconds: 1500, signalWhenInSync: false },
      healthEndpoint: { port: 8889, maxBlockAgeSeconds: 300, minPeers: 4 },
      fleet: { memberTagKey: 'casper:member', signingKeySecretArns: [], nodeNames: [], memberTagWaitSeconds: 60 },
    });
  });

  test('a single node gets the fleet and signal-when-in-sync keys with their off values, and nothing else changes', () => {
    const doc = renderNodeConfig(base) as unknown as Record<string, any>;
    expect(doc.fleet).toEqual({ memberTagKey: 'casper:member', signingKeySecretArns: [], nodeNames: [], memberTagWaitSeconds: MEMBER_TAG_WAIT_SECONDS });
    expect(doc.health.signalWhenInSync).toBe(false);
    expect(doc.publicIp).toBe('203.0.113.10');
    expect(doc.nodeName).toBe('reader-1');
    expect(doc.signingKeySecretArn).toBe(base.signingKeySecretArn);
  });

  describe('fleet members', () => {
    const secrets = [0, 1, 2].map((i) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:fleet-key-${i}-AbCdEf`);
    const names = ['fleet-0', 'fleet-1', 'fleet-2'];

    test('one secret and one node name per slot, the member tag from the contract, no Elastic IP', () => {
      const doc = renderNodeConfig({
        ...base,
        publicIp: '',
        fleet: { signingKeySecretArns: secrets, nodeNames: names },
        healthEndpoint: { port: 8889, maxBlockAgeSeconds: 600, minPeers: 3 },
        signalWhenInSync: true,
      });
      expect(doc.fleet).toEqual({ memberTagKey: 'casper:member', signingKeySecretArns: secrets, nodeNames: names, memberTagWaitSeconds: 60 });
      expect(doc.publicIp).toBe('');
      expect(doc.health.signalWhenInSync).toBe(true);
    });

    test('the document holds copies of the arrays', () => {
      const arns = [...secrets];
      const doc = renderNodeConfig({ ...base, fleet: { signingKeySecretArns: arns, nodeNames: [...names] } });
      arns.push('x');
      expect(doc.fleet.signingKeySecretArns).toEqual(secrets);
    });

    test('as many node names as secrets', () => {
      expect(() => renderNodeConfig({ ...base, fleet: { signingKeySecretArns: secrets, nodeNames: names.slice(0, 2) } }))
        .toThrow('renderNodeConfig: fleet has 3 signing-key secrets but 2 node names (one of each per member slot)');
    });

    test('at least one slot', () => {
      expect(() => renderNodeConfig({ ...base, fleet: { signingKeySecretArns: [], nodeNames: [] } }))
        .toThrow('renderNodeConfig: fleet.signingKeySecretArns is empty (one secret per member slot)');
    });
  });

  test('signalWhenInSync needs the health endpoint', () => {
    expect(() => renderNodeConfig({ ...base, signalWhenInSync: true }))
      .toThrow('renderNodeConfig: signalWhenInSync needs the health endpoint (healthEndpoint with a port)');
    expect(() => renderNodeConfig({ ...base, signalWhenInSync: true, healthEndpoint: { port: 0, maxBlockAgeSeconds: 600, minPeers: 3 } }))
      .toThrow(/signalWhenInSync needs the health endpoint/);
  });

  test('empty trusted hash, agent parameter and metrics when not given (the bootstrap skips them)', () => {
    const doc = renderNodeConfig(base);
    expect(doc.trustedHash).toBe('');
    expect(doc.cloudWatchAgent).toEqual({ configParameterName: '' });
    expect(doc.metrics).toEqual({ namespace: '', logGroupName: '' });
  });

  test('no health endpoint unless asked for: port 0, with the default limits', () => {
    expect(renderNodeConfig(base).healthEndpoint).toEqual({
      port: 0, maxBlockAgeSeconds: HEALTH_ENDPOINT_DEFAULT_MAX_BLOCK_AGE_SECONDS, minPeers: HEALTH_ENDPOINT_DEFAULT_MIN_PEERS,
    });
    expect([HEALTH_ENDPOINT_DEFAULT_PORT, HEALTH_ENDPOINT_DEFAULT_MAX_BLOCK_AGE_SECONDS, HEALTH_ENDPOINT_DEFAULT_MIN_PEERS]).toEqual([8889, 600, 3]);
  });

  test('a mixed-case trusted hash is written lowercase (casper-types reads mixed case as checksummed hex)', () => {
    expect(renderNodeConfig({ ...base, trustedHash: 'AB'.repeat(32) }).trustedHash).toBe('ab'.repeat(32));
  });

  test('a custom network without the sidecar, with its own ports', () => {
    const doc = renderNodeConfig({
      ...base,
      network: CasperNetwork.custom({ chainspecName: 'old-net', runsSidecar: false, restPort: 18888, gossipPort: 35001, rpcPort: 17777, ssePort: 19999 }),
    });
    expect(doc.network).toEqual({
      chainspecName: 'old-net',
      networkConfigFileName: 'old-net.conf',
      runsSidecar: false,
      restPort: 18888,
      gossipPort: 35001,
      ssePort: 19999,
      rpcPort: 17777,
    });
  });

  test('the tag wait is the lifecycle\'s worst case (its launch hook timeout) plus a margin', () => {
    expect(DATA_VOLUME_TAG_WAIT_SECONDS).toBeGreaterThan(LIFECYCLE_LAUNCH_WORST_CASE_SECONDS);
    expect(DATA_VOLUME_TAG_WAIT_SECONDS - LIFECYCLE_LAUNCH_WORST_CASE_SECONDS).toBeLessThanOrEqual(300);
  });

  test('the ready wait is what is left of the bootstrap timeout, at least 5 minutes', () => {
    expect(readyWaitSeconds(5400)).toBe(5400 - 1020 - 300 - 900 - 1800);
    expect(readyWaitSeconds(1800)).toBe(300);
  });

  test('the libssl1.1 package is pinned by URL and sha256', () => {
    expect(LIBSSL11_DEB.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(LIBSSL11_DEB.url).toMatch(/libssl1\.1_1\.1\.1f-1ubuntu2\.24_amd64\.deb$/);
  });
});
