import { StatusFetchResult } from '../../src/monitoring/canary/verdict';
import { INFO_GET_STATUS, rpcProbeVerdict, RpcProbeExpectations } from '../../src/monitoring/rpc-probe/verdict';
import { NODE_20, STATUS_20 as STATUS_20_TEXT, TS_20 } from '../support/status-fixtures';

// A JSON-RPC `info_get_status` result has the fields of the REST /status answer (and
// `api_version`, which the 2.0 fixture's /status already carries): the answers below wrap
// the 2.0 fixture as the sidecar does.
const STATUS_20 = JSON.parse(STATUS_20_TEXT) as Record<string, any>;
const EXPECTED: RpcProbeExpectations = { expectedChainspecName: 'casper-test', maxBlockAgeSeconds: 600 };

/** `at(s)`: the time `s` seconds after the fixture's block. */
const at = (s: number) => new Date(Date.parse(TS_20) + s * 1000);
/** An HTTP 200 answer with this body. */
const ok = (body: string): StatusFetchResult => ({ statusCode: 200, body });
/** The JSON-RPC answer to INFO_GET_STATUS with the fixture as its result, with some envelope fields replaced. */
const envelope = (patch: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: STATUS_20, ...patch });
/** The answer with some fields of the result replaced. */
const result = (patch: Record<string, unknown>) => envelope({ result: { ...STATUS_20, ...patch } });
/** The answer with some fields of the result's last block replaced. */
const block = (patch: Record<string, unknown>) => result({ last_added_block_info: { ...STATUS_20.last_added_block_info, ...patch } });

const verdict = (answer: StatusFetchResult, seconds = 30) => rpcProbeVerdict(answer, at(seconds), EXPECTED);

describe('rpcProbeVerdict', () => {
  test('the request it judges answers to: info_get_status, id 1', () => {
    expect(JSON.stringify(INFO_GET_STATUS)).toBe('{"jsonrpc":"2.0","id":1,"method":"info_get_status","params":[]}');
  });

  describe('passes', () => {
    test('the 2.0 fixture as a JSON-RPC result, 30 s after its block, on the expected chainspec', () => {
      expect(verdict(ok(envelope())))
        .toEqual({ passed: true, message: 'height 5102733, era 18214, block 30 s old, 5 peers, KeepUp', blockAgeSeconds: 30, ...NODE_20, apiVersion: '2.0.0' });
    });

    test('a block exactly as old as the threshold (compared with >)', () => {
      expect(verdict(ok(envelope()), 600)).toMatchObject({ passed: true, blockAgeSeconds: 600 });
    });

    test('a block "from the future" (clock skew) counts as 0 s old', () => {
      expect(verdict(ok(envelope()), -5)).toMatchObject({ passed: true, blockAgeSeconds: 0 });
    });

    test('the reactor state is not judged: CatchUp with a fresh block passes', () => {
      expect(verdict(ok(result({ reactor_state: 'CatchUp' })))).toMatchObject({ passed: true, reactorState: 'CatchUp' });
    });

    test('"error": null next to the result', () => {
      expect(verdict(ok(envelope({ error: null }))).passed).toBe(true);
    });

    test('a result without api_version (older sidecars)', () => {
      const { api_version: _, ...withoutVersion } = STATUS_20;
      const v = verdict(ok(envelope({ result: withoutVersion })));
      expect(v.passed).toBe(true);
      expect(v.apiVersion).toBeUndefined();
    });
  });

  // Every failure: the answer, and the one-line reason the probe throws.
  const failures: Array<[string, StatusFetchResult, string, number?]> = [
    ['connection refused', { error: 'ECONNREFUSED' }, 'no answer: ECONNREFUSED'],
    ['timeout', { error: 'timeout after 5000 ms' }, 'no answer: timeout after 5000 ms'],
    ['a transport error over several lines', { error: 'socket\nhang up' }, 'no answer: socket hang up'],
    ['no HTTP response', {}, 'no answer: no HTTP response'],
    ['HTTP 503 (no healthy target)', { statusCode: 503, body: 'Service Unavailable' }, 'HTTP 503 from the RPC endpoint'],
    ['HTTP 404 (wrong path)', { statusCode: 404, body: '' }, 'HTTP 404 from the RPC endpoint'],
    ['HTTP 302 (not followed)', { statusCode: 302, body: '' }, 'HTTP 302 from the RPC endpoint'],
    ['a body cut at the read limit', { statusCode: 200, body: envelope().slice(0, 100), truncated: true }, 'RPC answer is too large (cut at the read limit)'],
    ['not JSON (an HTML page)', ok('<html><body>502 Bad Gateway</body></html>'), 'RPC answer is not valid JSON'],
    ['an empty body', ok(''), 'RPC answer is not valid JSON'],
    ['a JSON array (a batch answer)', ok(`[${envelope()}]`), 'RPC answer is not a JSON object'],
    ['the REST /status answer (no JSON-RPC envelope)', ok(JSON.stringify(STATUS_20)), 'not a JSON-RPC 2.0 answer (jsonrpc is missing)'],
    ['JSON-RPC 1.0', ok(envelope({ jsonrpc: '1.0' })), 'not a JSON-RPC 2.0 answer (jsonrpc is "1.0")'],
    ['a JSON-RPC error object', ok(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } })),
      'JSON-RPC error -32601: Method not found'],
    ['a JSON-RPC error with a multi-line message', ok(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error:\n  node unreachable' } })),
      'JSON-RPC error -32603: Internal error: node unreachable'],
    ['a JSON-RPC error with a very long message', ok(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x'.repeat(500) } })),
      `JSON-RPC error -1: ${'x'.repeat(200)}...`],
    ['a JSON-RPC error without code or message', ok(JSON.stringify({ jsonrpc: '2.0', id: null, error: 'boom' })), 'JSON-RPC error'],
    ['an answer to another request', ok(envelope({ id: 2 })), 'answer id is 2, expected 1'],
    ['no id', ok(envelope({ id: undefined })), 'answer id is missing, expected 1'],
    ['no result', ok(JSON.stringify({ jsonrpc: '2.0', id: 1 })), 'JSON-RPC answer has no result object (result is missing)'],
    ['a null result', ok(envelope({ result: null })), 'JSON-RPC answer has no result object (result is null)'],
    ['a string result', ok(envelope({ result: 'ok' })), 'JSON-RPC answer has no result object (result is "ok")'],
    ['the wrong chainspec (mainnet)', ok(result({ chainspec_name: 'casper' })), 'chainspec_name is \'casper\', expected \'casper-test\''],
    ['no chainspec', ok(result({ chainspec_name: undefined })), 'chainspec_name is missing, expected \'casper-test\''],
    ['no block yet', ok(result({ last_added_block_info: null, reactor_state: 'CatchUp' })), 'the node has no block yet (reactor state CatchUp)'],
    ['a stale block (601 s, threshold 600 s)', ok(envelope()), 'last block is 601 s old (height 5102733), more than 600 s', 601],
    ['a stale block (a day old)', ok(envelope()), 'last block is 86400 s old (height 5102733), more than 600 s', 86400],
    ['a timestamp that is not RFC 3339', ok(block({ timestamp: '2025-06-24 09:41:16' })),
      'last block timestamp "2025-06-24 09:41:16" is not a valid RFC 3339 time (height 5102733)'],
    ['a timestamp that is not a time', ok(block({ timestamp: 'yesterday' })), 'last block timestamp "yesterday" is not a valid RFC 3339 time (height 5102733)'],
    ['a numeric timestamp', ok(block({ timestamp: 1750758076864 })), 'last block timestamp 1750758076864 is not a valid RFC 3339 time (height 5102733)'],
    ['no timestamp', ok(block({ timestamp: undefined })), 'last block timestamp is missing (height 5102733)'],
  ];

  describe.each(failures)('fails: %s', (_name, answer, message, seconds) => {
    test(message, () => {
      const v = verdict(answer, seconds ?? 30);
      expect(v.passed).toBe(false);
      expect(v.message).toBe(message);
      expect(v.message).not.toMatch(/[\r\n]/);
    });
  });

  test('the threshold is the one given', () => {
    const strict = rpcProbeVerdict(ok(envelope()), at(61), { expectedChainspecName: 'casper-test', maxBlockAgeSeconds: 60 });
    expect(strict).toMatchObject({ passed: false, message: 'last block is 61 s old (height 5102733), more than 60 s', blockAgeSeconds: 61 });
  });

  test('the expected chainspec is the one given', () => {
    const mainnet = rpcProbeVerdict(ok(envelope()), at(30), { expectedChainspecName: 'casper', maxBlockAgeSeconds: 600 });
    expect(mainnet.message).toBe('chainspec_name is \'casper-test\', expected \'casper\'');
  });
});
