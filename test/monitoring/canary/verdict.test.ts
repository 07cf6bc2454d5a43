import { canaryVerdict, CanaryThresholds, StatusFetchResult } from '../../../src/monitoring/canary/verdict';
import { NODE_15, NODE_20, STATUS_15, STATUS_20, status20, TS_15, TS_20 } from '../../support/status-fixtures';

const MAX: CanaryThresholds = { maxBlockAgeSeconds: 600 };

/** `at(ts, s)`: the time `s` seconds after `ts`. */
const at = (ts: string, s: number) => new Date(Date.parse(ts) + s * 1000);
const ok = (body: string): StatusFetchResult => ({ statusCode: 200, body });
const block20 = (patch: Record<string, unknown>) =>
  status20({ last_added_block_info: { ...JSON.parse(STATUS_20).last_added_block_info, ...patch } });

describe('canaryVerdict', () => {
  describe('passes', () => {
    test('status-1.5.json, 30 s after its block', () => {
      expect(canaryVerdict(ok(STATUS_15), at(TS_15, 30), MAX))
        .toEqual({ passed: true, message: 'height 3517642, era 17291, block 30 s old, 6 peers, KeepUp', blockAgeSeconds: 30, ...NODE_15 });
    });

    test('status-2.0.json, 30 s after its block, with the right chainspec', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 30), { ...MAX, expectedChainspecName: 'casper-test' }))
        .toEqual({ passed: true, message: 'height 5102733, era 18214, block 30 s old, 5 peers, KeepUp', blockAgeSeconds: 30, ...NODE_20 });
    });

    test('a block exactly as old as the threshold passes (compared with >)', () => {
      const v = canaryVerdict(ok(STATUS_20), at(TS_20, 600), MAX);
      expect(v).toMatchObject({ passed: true, blockAgeSeconds: 600, message: 'height 5102733, era 18214, block 600 s old, 5 peers, KeepUp' });
    });

    test('a block "from the future" (clock skew) counts as 0 s old', () => {
      const v = canaryVerdict(ok(STATUS_20), at(TS_20, -5), MAX);
      expect(v).toMatchObject({ passed: true, blockAgeSeconds: 0, message: 'height 5102733, era 18214, block 0 s old, 5 peers, KeepUp' });
    });

    test('threshold 0 accepts only a block no older than now', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 0), { maxBlockAgeSeconds: 0 }).passed).toBe(true);
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 0.001), { maxBlockAgeSeconds: 0 }).message)
        .toBe('last block is 0.001 s old (height 5102733), more than 0 s');
    });

    test('no chainspec expected: any network passes', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 1), MAX).passed).toBe(true);
    });

    test('CatchUp with a fresh block passes by default', () => {
      const v = canaryVerdict(ok(status20({ reactor_state: 'CatchUp' })), at(TS_20, 30), MAX);
      expect(v).toMatchObject({ passed: true, reactorState: 'CatchUp', message: 'height 5102733, era 18214, block 30 s old, 5 peers, CatchUp' });
    });

    test('CatchUp with a fresh block passes with failOnCatchUp: false', () => {
      expect(canaryVerdict(ok(status20({ reactor_state: 'CatchUp' })), at(TS_20, 30), { ...MAX, failOnCatchUp: false }).passed).toBe(true);
    });

    test.each(['Validate', 'Upgrading', 'Initialize'])('%s with a fresh block passes even with failOnCatchUp', (state) => {
      const v = canaryVerdict(ok(status20({ reactor_state: state })), at(TS_20, 30), { ...MAX, failOnCatchUp: true });
      expect(v).toMatchObject({ passed: true, message: `height 5102733, era 18214, block 30 s old, 5 peers, ${state}` });
    });

    test('fractional ages print with millisecond precision', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 12.345), MAX).message).toBe('height 5102733, era 18214, block 12.345 s old, 5 peers, KeepUp');
    });

    test('a timestamp with an offset is understood', () => {
      // 09:41:16.864Z == 11:41:16.864+02:00
      const v = canaryVerdict(ok(block20({ timestamp: '2025-06-24T11:41:16.864+02:00' })), at(TS_20, 45), MAX);
      expect(v).toMatchObject({ passed: true, blockAgeSeconds: 45 });
    });

    test('missing optional fields show as ? / unknown state, and a peer map is counted', () => {
      const body = JSON.stringify({ peers: { a: '1.2.3.4:35000', b: '5.6.7.8:35000' }, last_added_block_info: { timestamp: TS_20 } });
      expect(canaryVerdict(ok(body), at(TS_20, 2), MAX)).toEqual({
        passed: true,
        message: 'height ?, era ?, block 2 s old, 2 peers, unknown state',
        height: undefined,
        eraId: undefined,
        blockAgeSeconds: 2,
        reactorState: undefined,
        chainspecName: undefined,
        peerCount: 2,
      });
      expect(canaryVerdict(ok(JSON.stringify({ last_added_block_info: { timestamp: TS_20 } })), at(TS_20, 2), MAX).message)
        .toBe('height ?, era ?, block 2 s old, ? peers, unknown state');
    });
  });

  describe('fails', () => {
    test('transport error', () => {
      expect(canaryVerdict({ error: 'ECONNREFUSED' }, at(TS_20, 1), MAX)).toEqual({ passed: false, message: 'node did not answer: ECONNREFUSED' });
      expect(canaryVerdict({ error: 'timeout after 10000 ms' }, at(TS_20, 1), MAX).message).toBe('node did not answer: timeout after 10000 ms');
    });

    test('an error wins over a status code and body', () => {
      expect(canaryVerdict({ error: 'ECONNRESET', statusCode: 200, body: STATUS_20 }, at(TS_20, 1), MAX).message)
        .toBe('node did not answer: ECONNRESET');
    });

    test('no status code and no error', () => {
      expect(canaryVerdict({}, at(TS_20, 1), MAX).message).toBe('node did not answer: no HTTP response');
    });

    test.each([500, 404, 503, 301, 204, 201])('HTTP %d', (code) => {
      expect(canaryVerdict({ statusCode: code, body: STATUS_20 }, at(TS_20, 1), MAX))
        .toEqual({ passed: false, message: `HTTP ${code} from the status endpoint` });
    });

    test('body cut at the read limit', () => {
      expect(canaryVerdict({ statusCode: 200, body: STATUS_20.slice(0, 100), truncated: true }, at(TS_20, 1), MAX).message)
        .toBe('status body is too large (cut at the read limit)');
    });

    test.each([
      ['malformed', '{"peers": ['],
      ['empty', ''],
      ['HTML', '<html>502 Bad Gateway</html>'],
    ])('body not JSON (%s)', (_name, body) => {
      expect(canaryVerdict(ok(body), at(TS_20, 1), MAX)).toEqual({ passed: false, message: 'status body is not valid JSON' });
    });

    test('missing body', () => {
      expect(canaryVerdict({ statusCode: 200 }, at(TS_20, 1), MAX).message).toBe('status body is not valid JSON');
    });

    test.each(['null', '[]', '[{"chainspec_name":"casper"}]', '"casper"', '42', 'true'])('body is JSON but not an object: %s', (body) => {
      expect(canaryVerdict(ok(body), at(TS_20, 1), MAX)).toEqual({ passed: false, message: 'status body is not a JSON object' });
    });

    test('wrong chainspec', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 30), { ...MAX, expectedChainspecName: 'casper' })).toEqual({
        passed: false,
        message: "chainspec_name is 'casper-test', expected 'casper'",
        chainspecName: 'casper-test',
        reactorState: 'KeepUp',
        peerCount: 5,
      });
      expect(canaryVerdict(ok(STATUS_15), at(TS_15, 30), { ...MAX, expectedChainspecName: 'casper-test' }).message)
        .toBe("chainspec_name is 'casper', expected 'casper-test'");
    });

    test('the chainspec check is exact (case, prefix)', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 1), { ...MAX, expectedChainspecName: 'Casper-Test' }).passed).toBe(false);
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 1), { ...MAX, expectedChainspecName: 'casper-tes' }).passed).toBe(false);
    });

    test('chainspec missing while one is expected', () => {
      const body = status20({ chainspec_name: undefined });
      expect(canaryVerdict(ok(body), at(TS_20, 1), { ...MAX, expectedChainspecName: 'casper-test' }).message)
        .toBe("chainspec_name is missing, expected 'casper-test'");
    });

    test('the chainspec is checked before the block (a stale node on the wrong network reports the network)', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 10_000), { ...MAX, expectedChainspecName: 'casper' }).message)
        .toBe("chainspec_name is 'casper-test', expected 'casper'");
    });

    test('last_added_block_info null', () => {
      expect(canaryVerdict(ok(status20({ last_added_block_info: null, reactor_state: 'CatchUp' })), at(TS_20, 1), MAX)).toEqual({
        passed: false,
        message: 'the node has no block yet (reactor state CatchUp)',
        chainspecName: 'casper-test',
        reactorState: 'CatchUp',
        peerCount: 5,
      });
    });

    test('last_added_block_info missing, and no reactor state', () => {
      const body = status20({ last_added_block_info: undefined, reactor_state: undefined });
      expect(canaryVerdict(ok(body), at(TS_20, 1), MAX).message).toBe('the node has no block yet (reactor state unknown)');
    });

    test('last_added_block_info not an object', () => {
      expect(canaryVerdict(ok(status20({ last_added_block_info: 'none', reactor_state: 'Initialize' })), at(TS_20, 1), MAX).message)
        .toBe('the node has no block yet (reactor state Initialize)');
    });

    test.each([
      ['garbage', 'yesterday', 'last block timestamp "yesterday" is not a valid RFC 3339 time (height 5102733)'],
      ['no zone', '2025-06-24T09:41:16.864', 'last block timestamp "2025-06-24T09:41:16.864" is not a valid RFC 3339 time (height 5102733)'],
      ['date only', '2025-06-24', 'last block timestamp "2025-06-24" is not a valid RFC 3339 time (height 5102733)'],
      ['month 13', '2025-13-24T09:41:16.864Z', 'last block timestamp "2025-13-24T09:41:16.864Z" is not a valid RFC 3339 time (height 5102733)'],
      ['unix ms number', 1750758076864, 'last block timestamp 1750758076864 is not a valid RFC 3339 time (height 5102733)'],
      ['null', null, 'last block timestamp null is not a valid RFC 3339 time (height 5102733)'],
      ['missing', undefined, 'last block timestamp is missing (height 5102733)'],
    ])('unparseable timestamp (%s)', (_name, timestamp, message) => {
      const v = canaryVerdict(ok(block20({ timestamp })), at(TS_20, 1), MAX);
      expect(v).toMatchObject({ passed: false, message, height: 5102733, eraId: 18214 });
      expect(v.blockAgeSeconds).toBeUndefined();
    });

    test('block older than the threshold', () => {
      expect(canaryVerdict(ok(STATUS_20), at(TS_20, 601), MAX))
        .toEqual({ passed: false, message: 'last block is 601 s old (height 5102733), more than 600 s', blockAgeSeconds: 601, ...NODE_20 });
    });

    test('one millisecond over the threshold fails', () => {
      expect(canaryVerdict(ok(STATUS_15), at(TS_15, 600.001), MAX).message).toBe('last block is 600.001 s old (height 3517642), more than 600 s');
    });

    test('a custom threshold', () => {
      expect(canaryVerdict(ok(STATUS_15), at(TS_15, 121), { maxBlockAgeSeconds: 120 }).message)
        .toBe('last block is 121 s old (height 3517642), more than 120 s');
      expect(canaryVerdict(ok(STATUS_15), at(TS_15, 120), { maxBlockAgeSeconds: 120 }).passed).toBe(true);
    });

    test('a stale CatchUp node fails on its age, not its state', () => {
      expect(canaryVerdict(ok(status20({ reactor_state: 'CatchUp' })), at(TS_20, 3600), { ...MAX, failOnCatchUp: true }).message)
        .toBe('last block is 3600 s old (height 5102733), more than 600 s');
    });

    test('CatchUp with a fresh block fails with failOnCatchUp: true', () => {
      expect(canaryVerdict(ok(status20({ reactor_state: 'CatchUp' })), at(TS_20, 30), { ...MAX, failOnCatchUp: true }))
        .toEqual({ passed: false, message: 'reactor state is CatchUp', blockAgeSeconds: 30, ...NODE_20, reactorState: 'CatchUp' });
    });
  });

  test('is pure: same input, same output, input not changed', () => {
    const result = Object.freeze(ok(STATUS_20));
    const now = at(TS_20, 30);
    const thresholds = Object.freeze({ ...MAX, expectedChainspecName: 'casper-test' });
    const a = canaryVerdict(result, now, thresholds);
    const b = canaryVerdict(result, now, thresholds);
    expect(a).toEqual(b);
    expect(now.getTime()).toBe(Date.parse(TS_20) + 30_000);
  });
});
