import { CasperNetwork } from '../src';

describe('CasperNetwork', () => {
  test('mainnet and testnet carry what the bootstrap needs', () => {
    expect(CasperNetwork.MAINNET.chainspecName).toBe('casper');
    expect(CasperNetwork.MAINNET.networkConfigFileName).toBe('casper.conf');
    expect(CasperNetwork.TESTNET.chainspecName).toBe('casper-test');
    expect(CasperNetwork.TESTNET.networkConfigFileName).toBe('casper-test.conf');
    for (const n of [CasperNetwork.MAINNET, CasperNetwork.TESTNET]) {
      expect(n.runsSidecar).toBe(true);
      expect([n.gossipPort, n.restPort, n.rpcPort, n.ssePort]).toEqual([35000, 8888, 7777, 9999]);
    }
  });

  test('custom network derives its config file and keeps given values', () => {
    const n = CasperNetwork.custom({ chainspecName: 'casper-integration', runsSidecar: false, rpcPort: 17777 });
    expect(n.chainspecName).toBe('casper-integration');
    expect(n.networkConfigFileName).toBe('casper-integration.conf');
    expect(n.runsSidecar).toBe(false);
    expect(n.rpcPort).toBe(17777);
    expect(n.gossipPort).toBe(35000);
  });

  test('custom network with an explicit config file name', () => {
    const n = CasperNetwork.custom({ chainspecName: 'dev-net', networkConfigFileName: 'dev.conf' });
    expect(n.networkConfigFileName).toBe('dev.conf');
  });

  test('rejects an empty custom network name', () => {
    expect(() => CasperNetwork.custom({ chainspecName: '' })).toThrow(
      'CasperNetwork.custom: invalid chainspecName "": must be 1 to 64 characters of letters, digits, "-" or "_"');
  });

  test('rejects a chainspec name with illegal characters', () => {
    expect(() => CasperNetwork.custom({ chainspecName: 'casper test' })).toThrow(
      /invalid chainspecName "casper test"/);
  });

  test('rejects a config file name with a path or without .conf', () => {
    expect(() => CasperNetwork.custom({ chainspecName: 'x', networkConfigFileName: '../x.conf' })).toThrow(
      'CasperNetwork.custom: invalid networkConfigFileName "../x.conf": must be a file name ending in ".conf"');
    expect(() => CasperNetwork.custom({ chainspecName: 'x', networkConfigFileName: 'x.toml' })).toThrow(
      /invalid networkConfigFileName "x.toml"/);
  });

  test.each([
    ['gossipPort', 0],
    ['restPort', 65536],
    ['rpcPort', -1],
    ['ssePort', 80.5],
  ])('rejects %s %p as out of range', (prop, port) => {
    expect(() => CasperNetwork.custom({ chainspecName: 'x', [prop]: port })).toThrow(
      `CasperNetwork.custom: invalid ${prop} ${port}: a port must be an integer from 1 to 65535`);
  });

  test('rejects two services on one port, and port 22', () => {
    expect(() => CasperNetwork.custom({ chainspecName: 'x', ssePort: 7777 })).toThrow(
      'CasperNetwork.custom: invalid ssePort 7777: must differ from rpcPort, which uses the same port');
    expect(() => CasperNetwork.custom({ chainspecName: 'x', restPort: 22 })).toThrow(
      'CasperNetwork.custom: invalid restPort 22: port 22 is reserved for SSH');
  });
});
