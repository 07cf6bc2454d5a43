import * as dgram from 'dgram';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { FROMISOFORMAT, PythonRun, STATUS_15, STATUS_20, runPython, shippedPythonScriptTests } from '../../support/node-python';
import { NODE_ASSETS, REPO_ROOT, re } from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/casper-metrics.py: the real script, run by
 * python3 against a local HTTP server standing in for the node's /status and
 * a local TCP (or UDP) listener standing in for the CloudWatch agent's EMF
 * listener. Every run passes --now, so block ages are exact.
 */

const SCRIPT = path.join(NODE_ASSETS, 'casper-metrics.py');

const NAMESPACE = 'Casper/Node';
const NODE_NAME = 'reader-1';
const LOG_GROUP = '/casper/reader-1/metrics';
/** No stager result unless a test gives one (the default path is the node's). */
const NO_STAGE_RESULT = path.join(REPO_ROOT, 'test', 'fixtures', 'no-such-stage-result.json');
/** A finished bootstrap's done stamp, and empty staging roots, unless a test gives others. */
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-metrics-test-'));
const DONE_FILE = path.join(TMP, 'done');
fs.writeFileSync(DONE_FILE, '2026-12-01T00:00:00+0000\n');
const EMPTY_ROOT = path.join(TMP, 'empty');
fs.mkdirSync(EMPTY_ROOT);
const OPTIONS = [
  '--namespace', NAMESPACE, '--node-name', NODE_NAME, '--log-group', LOG_GROUP, '--stage-result-file', NO_STAGE_RESULT,
  '--bootstrap-done-file', DONE_FILE, '--config-root', EMPTY_ROOT, '--bin-root', EMPTY_ROOT,
];

/** The properties the 2.0 fixture gives (no upgrade announced). */
const PROPS_20 = { ReactorState: 'KeepUp', ChainspecName: 'casper-test', BuildVersion: '2.0.0-8c6ab3f', UpgradeAnnounced: false };

/** Block timestamps of the fixtures, in epoch ms. */
const BLOCK_15 = Date.parse('2025-03-18T14:22:41.408Z');
const BLOCK_20 = Date.parse('2025-06-24T09:41:16.864Z');

/** The metrics in the order the document lists them, with their units. */
const METRIC_UNITS: [string, string][] = [
  ['NodeUp', 'None'], ['Synced', 'None'], ['PeerCount', 'Count'], ['BlockHeight', 'Count'], ['EraId', 'Count'],
  ['LastBlockAgeSeconds', 'Seconds'], ['StageProtocolsFailed', 'None'], ['BootstrapComplete', 'None'], ['CatchingUp', 'None'],
  ['WrongChainspec', 'None'], ['UpgradeStaged', 'None'], ['RpcUp', 'None'], ['RpcLatencyMilliseconds', 'Milliseconds'],
];

/** The EMF document expected for these metric values (BootstrapComplete 1 unless given) and properties. */
function emf(timestampMs: number, given: Record<string, number>, props: Record<string, string | number | boolean> = {}): object {
  const values = { BootstrapComplete: 1, ...given };
  return {
    _aws: {
      Timestamp: timestampMs,
      LogGroupName: LOG_GROUP,
      CloudWatchMetrics: [{
        Namespace: NAMESPACE,
        Dimensions: [['NodeName']],
        Metrics: METRIC_UNITS.filter(([name]) => name in values).map(([Name, Unit]) => ({ Name, Unit, StorageResolution: 1 })),
      }],
    },
    NodeName: NODE_NAME,
    ...values,
    ...props,
  };
}

/** The 2.0 fixture with some fields changed. */
function status20(edit: (s: any) => void): string {
  const s = JSON.parse(STATUS_20);
  edit(s);
  return JSON.stringify(s);
}

/** What the stand-in node answers, by path. */
const ROUTES: Record<string, { status: number; body: string }> = {
  '/status-1.5': { status: 200, body: STATUS_15 },
  '/status-2.0': { status: 200, body: STATUS_20 },
  '/catch-up': { status: 200, body: status20((s) => { s.reactor_state = 'CatchUp'; }) },
  '/validate': { status: 200, body: status20((s) => { s.reactor_state = 'Validate'; }) },
  '/no-block': { status: 200, body: status20((s) => { s.last_added_block_info = null; }) },
  '/bad-timestamp': { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = 'yesterday'; }) },
  '/block-not-object': { status: 200, body: status20((s) => { s.last_added_block_info = 'pending'; }) },
  '/no-peers': { status: 200, body: status20((s) => { s.peers = null; s.build_version = null; delete s.chainspec_name; }) },
  '/error-500': { status: 500, body: 'Internal Server Error' },
  '/malformed': { status: 200, body: '{"peers": ' },
  '/array': { status: 200, body: '[1, 2]' },
};

/** A sidecar's info_get_status answer (trimmed). */
const RPC_RESULT = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { api_version: '2.0.0', chainspec_name: 'casper-test', reactor_state: 'KeepUp' } });

/** What the stand-in sidecar answers to POST, by path. */
const RPC_ROUTES: Record<string, { status: number; body: string; delayMs?: number }> = {
  '/rpc': { status: 200, body: RPC_RESULT },
  '/rpc-slow': { status: 200, body: RPC_RESULT, delayMs: 1_500 },
  '/rpc-error': { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }) },
  '/rpc-500': { status: 500, body: 'Internal Server Error' },
  '/rpc-no-result': { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1 }) },
  '/rpc-garbage': { status: 200, body: '<html>' },
};

/** The requests the stand-in sidecar got. */
const rpcRequests: { method: string; contentType: string; body: string }[] = [];

type Run = PythonRun;

/** Stands in for the agent's EMF listener; collects what it is sent. */
class Agent {
  static async tcp(): Promise<Agent> {
    const agent = new Agent();
    const server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('end', () => agent.push(Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    agent.endpoint = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    agent.closer = () => new Promise<void>((resolve) => server.close(() => resolve()));
    return agent;
  }

  static async udp(): Promise<Agent> {
    const agent = new Agent();
    const socket = dgram.createSocket('udp4');
    socket.on('message', (m) => agent.push(m.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    agent.endpoint = `udp://127.0.0.1:${socket.address().port}`;
    agent.closer = () => new Promise<void>((resolve) => socket.close(() => resolve()));
    return agent;
  }

  endpoint = '';
  private closer?: () => Promise<void>;
  private payloads: string[] = [];
  private waiters: ((payload: string) => void)[] = [];

  async close(): Promise<void> {
    await this.closer?.();
  }

  /** Forgets what earlier runs sent. */
  reset(): void {
    this.payloads = [];
  }

  /** How many payloads arrived and were not taken. */
  get pending(): number {
    return this.payloads.length;
  }

  /** The next payload (within 5 s). */
  next(): Promise<string> {
    const queued = this.payloads.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing arrived at ${this.endpoint}`)), 5_000);
      this.waiters.push((p) => { clearTimeout(timer); resolve(p); });
    });
  }

  private push(payload: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(payload);
    else this.payloads.push(payload);
  }
}

let node: http.Server;
let nodeUrl = '';
let agent: Agent;
let udpAgent: Agent;
/** A local port nothing listens on. */
let closedPort = 0;

beforeAll(async () => {
  node = http.createServer((req, res) => {
    if (req.url === '/hang') return; // accepts the request, never answers
    if (req.url?.startsWith('/rpc')) {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        rpcRequests.push({ method: req.method ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
        const route = RPC_ROUTES[req.url ?? ''] ?? { status: 404, body: 'not found' };
        setTimeout(() => {
          res.writeHead(route.status, { 'Content-Type': 'application/json' });
          res.end(route.body);
        }, route.delayMs ?? 0);
      });
      return;
    }
    const route = ROUTES[req.url ?? ''] ?? { status: 404, body: 'not found' };
    res.writeHead(route.status, { 'Content-Type': 'application/json' });
    res.end(route.body);
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  nodeUrl = `http://127.0.0.1:${(node.address() as net.AddressInfo).port}`;
  agent = await Agent.tcp();
  udpAgent = await Agent.udp();
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  fs.rmSync(TMP, { recursive: true, force: true });
  node.closeAllConnections();
  await new Promise<void>((resolve) => node.close(() => resolve()));
  await agent.close();
  await udpAgent.close();
});

/** Runs the collector (async: the stand-in node answers from this process). Only the env given here is set. */
function runCollector(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runPython(SCRIPT, args, 30_000, env);
}

/** Runs the collector against a path of the stand-in node; returns the run and the document the agent got. */
async function collect(route: string, now: string, extra: string[] = [], to: Agent = agent): Promise<{ run: Run; raw: string; doc: any }> {
  to.reset();
  const run = await runCollector(['--status-url', `${nodeUrl}${route}`, '--endpoint', to.endpoint, '--now', now, ...OPTIONS, ...extra]);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const raw = await to.next();
  return { run, raw, doc: JSON.parse(raw) };
}

interface RouteServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves GET <route> as 200 with the route's JSON body, looked up per request ({} for an unknown route). */
async function serveRoutes(routes: Map<string, string>): Promise<RouteServer> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(routes.get(req.url ?? '') ?? '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** RFC 3339 (UTC, milliseconds) of an epoch-ms time. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

describe('a node that answers', () => {
  test('1.5 mainnet node in KeepUp: all metrics, the block age from --now', async () => {
    const now = BLOCK_15 + 42_500;
    const { doc } = await collect('/status-1.5', iso(now));
    expect(doc).toEqual(emf(now, {
      NodeUp: 1,
      Synced: 1,
      PeerCount: 6,
      BlockHeight: 3517642,
      EraId: 17291,
      LastBlockAgeSeconds: 42.5,
      CatchingUp: 0,
      UpgradeStaged: 0,
    }, {
      ReactorState: 'KeepUp',
      ChainspecName: 'casper',
      BuildVersion: '1.5.8-0432614',
      UpgradeAnnounced: true,
      UpgradeActivationEra: 17400,
      UpgradeVersion: '2.0.0',
    }));
  });

  test('2.0 testnet node (--now in epoch seconds): the whole document', async () => {
    const now = BLOCK_20 + 42_500;
    const { raw, doc } = await collect('/status-2.0', String(now / 1000));
    expect(doc).toEqual({
      _aws: {
        Timestamp: 1750758119364,
        LogGroupName: '/casper/reader-1/metrics',
        CloudWatchMetrics: [{
          Namespace: 'Casper/Node',
          Dimensions: [['NodeName']],
          Metrics: [
            { Name: 'NodeUp', Unit: 'None', StorageResolution: 1 },
            { Name: 'Synced', Unit: 'None', StorageResolution: 1 },
            { Name: 'PeerCount', Unit: 'Count', StorageResolution: 1 },
            { Name: 'BlockHeight', Unit: 'Count', StorageResolution: 1 },
            { Name: 'EraId', Unit: 'Count', StorageResolution: 1 },
            { Name: 'LastBlockAgeSeconds', Unit: 'Seconds', StorageResolution: 1 },
            { Name: 'BootstrapComplete', Unit: 'None', StorageResolution: 1 },
            { Name: 'CatchingUp', Unit: 'None', StorageResolution: 1 },
          ],
        }],
      },
      NodeName: 'reader-1',
      NodeUp: 1,
      Synced: 1,
      PeerCount: 5,
      BlockHeight: 5102733,
      EraId: 18214,
      LastBlockAgeSeconds: 42.5,
      BootstrapComplete: 1,
      CatchingUp: 0,
      ReactorState: 'KeepUp',
      ChainspecName: 'casper-test',
      BuildVersion: '2.0.0-8c6ab3f',
      UpgradeAnnounced: false,
    });
    // One JSON document on one line, ended by a newline.
    expect(raw.endsWith('\n')).toBe(true);
    expect(raw.slice(0, -1)).not.toContain('\n');
  });

  /** The whole document for a node's answer: the route's status, read at a time near the 2.0 fixture's block. */
  test.each<[string, string, number, Record<string, number>, Record<string, string | boolean>]>([
    [
      'a stale block: its age in seconds',
      '/status-2.0', BLOCK_20 + 900_000,
      { NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 900, CatchingUp: 0 },
      PROPS_20,
    ],
    [
      'a node in CatchUp is not synced; its other values are reported',
      '/catch-up', BLOCK_20 + 42_500,
      { NodeUp: 1, Synced: 0, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 42.5, CatchingUp: 1 },
      { ...PROPS_20, ReactorState: 'CatchUp' },
    ],
    [
      'a node in Validate is synced',
      '/validate', BLOCK_20 + 42_500,
      { NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 42.5, CatchingUp: 0 },
      { ...PROPS_20, ReactorState: 'Validate' },
    ],
    [
      'a node without a block yet: no block metrics, and not synced',
      '/no-block', BLOCK_20 + 42_500,
      { NodeUp: 1, Synced: 0, PeerCount: 5, CatchingUp: 0 },
      PROPS_20,
    ],
    [
      'an unparseable block timestamp: block metrics left out, with the reason',
      '/bad-timestamp', BLOCK_20 + 42_500,
      { NodeUp: 1, Synced: 0, PeerCount: 5, CatchingUp: 0 },
      { ...PROPS_20, Error: "bad last_added_block_info: not an RFC 3339 timestamp: 'yesterday'" },
    ],
    [
      'a block info that is not an object: block metrics left out, with the reason',
      '/block-not-object', BLOCK_20 + 42_500,
      { NodeUp: 1, Synced: 0, PeerCount: 5, CatchingUp: 0 },
      { ...PROPS_20, Error: 'bad last_added_block_info: expected an object, got string' },
    ],
    [
      'a clock behind the block: the age is 0, not negative',
      '/status-2.0', BLOCK_20 - 10_000,
      { NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 0, CatchingUp: 0 },
      PROPS_20,
    ],
    [
      'null peers count 0; null or missing strings are left out',
      '/no-peers', BLOCK_20 + 1_000,
      { NodeUp: 1, Synced: 1, PeerCount: 0, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 1, CatchingUp: 0 },
      { ReactorState: 'KeepUp', UpgradeAnnounced: false },
    ],
  ])('%s', async (_, route, now, values, props) => {
    const { doc } = await collect(route, iso(now));
    expect(doc).toEqual(emf(now, values, props));
  });

  test.each([
    ['Z, no fraction', '2025-06-24T09:41:59Z', 42.136],
    ['9 fraction digits', '2025-06-24T09:41:59.000000001Z', 42.136],
    ['a +00:00 offset', '2025-06-24T09:41:59.5+00:00', 42.636],
    ['a +02:00 offset', '2025-06-24T11:41:59.5+02:00', 42.636],
  ])('--now in RFC 3339 with %s', async (_, now, age) => {
    const { doc } = await collect('/status-2.0', now);
    expect(doc.LastBlockAgeSeconds).toBe(age);
    expect(doc._aws.Timestamp).toBe(Date.parse(now));
  });
});

describe('a node that does not answer', () => {
  const NOW = BLOCK_20 + 42_500;
  const down = (error: string) => emf(NOW, { NodeUp: 0, Synced: 0 }, { Error: error });

  test('connection refused', async () => {
    agent.reset();
    const run = await runCollector([
      '--status-url', `http://127.0.0.1:${closedPort}/status`, '--endpoint', agent.endpoint, '--now', iso(NOW), ...OPTIONS,
    ]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(await agent.next())).toEqual(down('connection refused'));
  });

  test('no answer within the timeout', async () => {
    const started = Date.now();
    const { doc } = await collect('/hang', iso(NOW), ['--timeout-seconds', '1']);
    expect(doc).toEqual(down('timeout after 1 s'));
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('HTTP 500', async () => {
    const { doc } = await collect('/error-500', iso(NOW));
    expect(doc).toEqual(down('HTTP 500'));
  });

  test('a body that is not JSON', async () => {
    const { doc } = await collect('/malformed', iso(NOW));
    expect(doc).toEqual(down('invalid JSON: Expecting value: line 1 column 11 (char 10)'));
  });

  test('a JSON array instead of the status object', async () => {
    const { doc } = await collect('/array', iso(NOW));
    expect(doc).toEqual(down('unexpected body: JSON array, not an object'));
  });
});

describe('the protocol stager\'s outcome (StageProtocolsFailed)', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-stage-result-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const now = BLOCK_20 + 10_000;
  const base = { NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 10, CatchingUp: 0 };

  async function withResult(content: string): Promise<any> {
    const file = path.join(dir, `result-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, content);
    const { doc } = await collect('/status-2.0', iso(now), ['--stage-result-file', file]);
    return doc;
  }

  test('a successful last run: 0', async () => {
    expect(await withResult('{"failed": false, "message": "staged: 2_0_0 2_1_0", "time": 1}\n'))
      .toEqual(emf(now, { ...base, StageProtocolsFailed: 0 }, PROPS_20));
  });

  test('a failed last run: 1, with its message', async () => {
    const doc = await withResult('{"failed": true, "message": "casper-node-util stage_protocols did not finish within 1800 s", "time": 1}\n');
    expect(doc).toEqual(emf(now, { ...base, StageProtocolsFailed: 1 },
      { ...PROPS_20, StageProtocolsError: 'casper-node-util stage_protocols did not finish within 1800 s' }));
  });

  test('an unreadable result counts as failed', async () => {
    const doc = await withResult('{"failed": "maybe"}');
    expect(doc.StageProtocolsFailed).toBe(1);
    expect(doc.StageProtocolsError).toMatch(/^unexpected content in /);
  });

  test('before the first run: no StageProtocolsFailed at all', async () => {
    const { doc } = await collect('/status-2.0', iso(now));
    expect(doc).toEqual(emf(now, base, PROPS_20));
    expect(doc).not.toHaveProperty('StageProtocolsFailed');
  });
});

describe('delivery and options', () => {
  const NOW = BLOCK_20 + 42_500;
  const UP = emf(NOW, {
    NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 42.5, CatchingUp: 0,
  }, PROPS_20);

  test('a udp:// endpoint gets the same document in one datagram', async () => {
    const tcp = await collect('/status-2.0', iso(NOW));
    const udp = await collect('/status-2.0', iso(NOW), [], udpAgent);
    expect(udp.doc).toEqual(UP);
    expect(udp.raw).toBe(tcp.raw);
  });

  test('an agent that cannot be reached: exit 1 and a message naming the endpoint', async () => {
    const endpoint = `tcp://127.0.0.1:${closedPort}`;
    const run = await runCollector(['--status-url', `${nodeUrl}/status-2.0`, '--endpoint', endpoint, '--now', iso(NOW), ...OPTIONS]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^casper-metrics: cannot send to ${re(endpoint)}: .*Connection refused\\n$`));
    expect(run.stdout).toBe('');
  });

  test.each([
    ['--namespace', 'CASPER_METRICS_NAMESPACE'],
    ['--node-name', 'CASPER_METRICS_NODE_NAME'],
    ['--log-group', 'CASPER_METRICS_LOG_GROUP'],
  ])('a missing %s: exit 2 naming it, nothing sent', async (option, variable) => {
    agent.reset();
    const args = [...OPTIONS];
    args.splice(args.indexOf(option), 2);
    const run = await runCollector(['--status-url', `${nodeUrl}/status-2.0`, '--endpoint', agent.endpoint, '--now', iso(NOW), ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${option} is required (or set ${variable})`);
    expect(agent.pending).toBe(0);
  });

  test('an endpoint that is not tcp:// or udp:// is a usage error', async () => {
    const run = await runCollector(['--endpoint', 'http://127.0.0.1:25888', ...OPTIONS]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--endpoint: expected tcp://host:port or udp://host:port, got 'http://127.0.0.1:25888'");
  });

  test('every option defaults to its environment variable (the systemd EnvironmentFile)', async () => {
    agent.reset();
    const before = Date.now();
    const run = await runCollector([], {
      CASPER_METRICS_STATUS_URL: `${nodeUrl}/status-2.0`,
      CASPER_METRICS_NAMESPACE: NAMESPACE,
      CASPER_METRICS_NODE_NAME: NODE_NAME,
      CASPER_METRICS_LOG_GROUP: LOG_GROUP,
      CASPER_METRICS_ENDPOINT: agent.endpoint,
      CASPER_METRICS_TIMEOUT_SECONDS: '2',
      CASPER_METRICS_BOOTSTRAP_DONE_FILE: DONE_FILE,
      CASPER_METRICS_CONFIG_ROOT: EMPTY_ROOT,
      CASPER_METRICS_BIN_ROOT: EMPTY_ROOT,
    });
    const after = Date.now();
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    const doc = JSON.parse(await agent.next());
    // No --now: the real clock.
    expect(doc).toEqual({ ...UP, _aws: { ...(UP as any)._aws, Timestamp: expect.any(Number) }, LastBlockAgeSeconds: expect.any(Number) });
    expect(doc._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(doc._aws.Timestamp).toBeLessThanOrEqual(after);
    expect(doc.LastBlockAgeSeconds).toBeCloseTo((doc._aws.Timestamp - BLOCK_20) / 1000, 2);
  });

  test('command-line options win over the environment', async () => {
    agent.reset();
    const run = await runCollector(['--status-url', `${nodeUrl}/status-2.0`, '--now', iso(NOW), '--namespace', NAMESPACE], {
      CASPER_METRICS_STATUS_URL: `${nodeUrl}/error-500`,
      CASPER_METRICS_NAMESPACE: 'Other/Namespace',
      CASPER_METRICS_NODE_NAME: NODE_NAME,
      CASPER_METRICS_LOG_GROUP: LOG_GROUP,
      CASPER_METRICS_ENDPOINT: agent.endpoint,
      CASPER_METRICS_BOOTSTRAP_DONE_FILE: DONE_FILE,
      CASPER_METRICS_CONFIG_ROOT: EMPTY_ROOT,
      CASPER_METRICS_BIN_ROOT: EMPTY_ROOT,
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(await agent.next())).toEqual(UP);
  });

  test('--print also prints the document sent', async () => {
    const { run, raw, doc } = await collect('/status-2.0', iso(NOW), ['--print']);
    expect(doc).toEqual(UP);
    expect(run.stdout).toBe(raw);
  });

  test('without --print nothing goes to stdout', async () => {
    const { run } = await collect('/status-2.0', iso(NOW));
    expect(run.stdout).toBe('');
  });
});

describe('the script', () => {
  /** The standard-library modules the collector may import (Python 3.10, no AWS SDK). */
  const ALLOWED = [
    'argparse', 'datetime', 'http.client', 'json', 'os', 're', 'socket', 'sys', 'time', 'urllib.error', 'urllib.request',
    // casper_status.py, shipped beside the script (test/assets/node/casper-status.test.ts checks its own imports).
    'casper_status',
  ];

  shippedPythonScriptTests(SCRIPT, ALLOWED, [/__import__|importlib/, FROMISOFORMAT]);

  test('the timer runs it every 30 s with 1 s accuracy', () => {
    const timer = fs.readFileSync(path.join(NODE_ASSETS, 'casper-metrics.timer'), 'utf8');
    for (const line of ['OnBootSec=30s', 'OnUnitActiveSec=30s', 'AccuracySec=1s', 'WantedBy=timers.target']) {
      expect(timer.split('\n')).toContain(line);
    }
    const service = fs.readFileSync(path.join(NODE_ASSETS, 'casper-metrics.service'), 'utf8');
    for (const line of [
      'Type=oneshot', 'EnvironmentFile=/etc/casper-metrics.env', 'ExecStart=/usr/bin/python3 /usr/local/sbin/casper-metrics.py',
      'DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
    ]) {
      expect(service.split('\n')).toContain(line);
    }
  });
});

/** The 2.0 fixture in another reactor state. */
function inState(state: string): string {
  return status20((s) => { s.reactor_state = state; });
}

describe('the reactor state as metrics (Synced, CatchingUp)', () => {
  const now = BLOCK_20 + 5_000;
  const server = new Map<string, string>();
  let url = '';
  let stateServer: RouteServer;
  beforeAll(async () => {
    for (const state of ['Initialize', 'CatchUp', 'Upgrading', 'KeepUp', 'Validate', 'ShutdownForUpgrade']) server.set(`/${state}`, inState(state));
    stateServer = await serveRoutes(server);
    url = stateServer.url;
  });
  afterAll(() => stateServer.close());

  test.each([
    // state, Synced, CatchingUp
    ['Initialize', 0, 1],
    ['CatchUp', 0, 1],
    ['Upgrading', 0, 0],
    ['KeepUp', 1, 0],
    ['Validate', 1, 0],
    ['ShutdownForUpgrade', 0, 0],
  ])('%s: Synced %d, CatchingUp %d', async (state, synced, catchingUp) => {
    agent.reset();
    const run = await runCollector(['--status-url', `${url}/${state}`, '--endpoint', agent.endpoint, '--now', iso(now), ...OPTIONS]);
    expect(run.status).toBe(0);
    const doc = JSON.parse(await agent.next());
    expect(doc).toEqual(emf(now, {
      NodeUp: 1, Synced: synced, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 5, CatchingUp: catchingUp,
    }, { ...PROPS_20, ReactorState: state }));
  });

  test('a node that does not answer has no CatchingUp (the alarms treat it as not catching up)', async () => {
    const { doc } = await collect('/error-500', iso(now));
    expect(doc).not.toHaveProperty('CatchingUp');
  });
});

describe('the bootstrap (BootstrapComplete)', () => {
  const now = BLOCK_20 + 5_000;
  test('no done stamp yet: 0, also while the node does not answer yet', async () => {
    const missing = path.join(TMP, 'no-done-yet');
    const { doc } = await collect('/error-500', iso(now), ['--bootstrap-done-file', missing]);
    expect(doc).toEqual(emf(now, { NodeUp: 0, Synced: 0, BootstrapComplete: 0 }, { Error: 'HTTP 500' }));
  });

  test('the done stamp exists: 1', async () => {
    const { doc } = await collect('/catch-up', iso(now));
    expect(doc.BootstrapComplete).toBe(1);
  });
});

describe('protocol upgrades (UpgradeStaged)', () => {
  const now = BLOCK_20 + 5_000;
  let configRoot: string;
  let binRoot: string;
  const routes = new Map<string, string>();
  let url = '';
  let upgradeServer: RouteServer;
  const announce = (activation: number | string, version: string) => status20((s) => {
    s.next_upgrade = { activation_point: activation, protocol_version: version };
  });
  beforeAll(async () => {
    configRoot = fs.mkdtempSync(path.join(TMP, 'etc-casper-'));
    binRoot = fs.mkdtempSync(path.join(TMP, 'bin-'));
    routes.set('/era', announce(18300, '2.1.0'));
    routes.set('/time', announce('2026-12-24T12:00:00.000Z', '2.2.0'));
    routes.set('/bad-version', announce(18300, 'two'));
    routes.set('/not-object', status20((s) => { s.next_upgrade = 'soon'; }));
    upgradeServer = await serveRoutes(routes);
    url = upgradeServer.url;
  });
  afterAll(() => upgradeServer.close());

  const stage = (version: string, parts: { config?: boolean; bin?: boolean }) => {
    if (parts.config) {
      fs.mkdirSync(path.join(configRoot, version), { recursive: true });
      fs.writeFileSync(path.join(configRoot, version, 'config.toml'), '[node]\n');
    }
    if (parts.bin) {
      fs.mkdirSync(path.join(binRoot, version), { recursive: true });
      fs.writeFileSync(path.join(binRoot, version, 'casper-node'), '#!/bin/false\n');
    }
  };
  async function upgradeDoc(route: string): Promise<any> {
    agent.reset();
    const run = await runCollector(['--status-url', `${url}${route}`, '--endpoint', agent.endpoint, '--now', iso(now), ...OPTIONS,
      '--config-root', configRoot, '--bin-root', binRoot]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    return JSON.parse(await agent.next());
  }
  const up = { NodeUp: 1, Synced: 1, PeerCount: 5, BlockHeight: 5102733, EraId: 18214, LastBlockAgeSeconds: 5, CatchingUp: 0 };

  test('an announced upgrade that is not staged: 0, with the version and activation era', async () => {
    expect(await upgradeDoc('/era')).toEqual(emf(now, { ...up, UpgradeStaged: 0 },
      { ...PROPS_20, UpgradeAnnounced: true, UpgradeActivationEra: 18300, UpgradeVersion: '2.1.0' }));
  });

  test('half staged (config, no binary) is not staged', async () => {
    stage('2_1_0', { config: true });
    expect((await upgradeDoc('/era')).UpgradeStaged).toBe(0);
  });

  test('config and binary of 2.1.0 under 2_1_0: staged, 1', async () => {
    stage('2_1_0', { config: true, bin: true });
    expect(await upgradeDoc('/era')).toEqual(emf(now, { ...up, UpgradeStaged: 1 },
      { ...PROPS_20, UpgradeAnnounced: true, UpgradeActivationEra: 18300, UpgradeVersion: '2.1.0' }));
  });

  test('an activation point given as a timestamp', async () => {
    stage('2_2_0', { bin: true });
    const doc = await upgradeDoc('/time');
    expect(doc).toEqual(emf(now, { ...up, UpgradeStaged: 0 },
      { ...PROPS_20, UpgradeAnnounced: true, UpgradeActivationTime: '2026-12-24T12:00:00.000Z', UpgradeVersion: '2.2.0' }));
  });

  test('a version that is not m.n.p cannot be staged: 0, with the reason', async () => {
    const doc = await upgradeDoc('/bad-version');
    expect(doc.UpgradeStaged).toBe(0);
    expect(doc.UpgradeError).toBe("unexpected protocol_version 'two'");
  });

  test('next_upgrade that is not an object: no UpgradeStaged, the reason', async () => {
    const doc = await upgradeDoc('/not-object');
    expect(doc).not.toHaveProperty('UpgradeStaged');
    expect(doc).toMatchObject({ UpgradeAnnounced: false, UpgradeError: 'next_upgrade is not an object' });
  });

  test('no upgrade announced: no UpgradeStaged (the alarm then has no data, which is fine)', async () => {
    const { doc } = await collect('/status-2.0', iso(now));
    expect(doc).not.toHaveProperty('UpgradeStaged');
    expect(doc.UpgradeAnnounced).toBe(false);
  });
});

describe('the network (WrongChainspec)', () => {
  const now = BLOCK_20 + 5_000;
  test('the expected chainspec: 0', async () => {
    const { doc } = await collect('/status-2.0', iso(now), ['--expected-chainspec', 'casper-test']);
    expect(doc.WrongChainspec).toBe(0);
    expect(doc).not.toHaveProperty('ExpectedChainspec');
  });

  test('another chainspec: 1, naming both', async () => {
    const { doc } = await collect('/status-2.0', iso(now), ['--expected-chainspec', 'casper']);
    expect(doc).toMatchObject({ WrongChainspec: 1, ChainspecName: 'casper-test', ExpectedChainspec: 'casper' });
  });

  test('no chainspec_name at all: 1', async () => {
    const { doc } = await collect('/no-peers', iso(now), ['--expected-chainspec', 'casper-test']);
    expect(doc.WrongChainspec).toBe(1);
  });

  test('from the environment (the bootstrap writes it to the env file)', async () => {
    agent.reset();
    const run = await runCollector(['--status-url', `${nodeUrl}/status-2.0`, '--endpoint', agent.endpoint, '--now', iso(now), ...OPTIONS],
      { CASPER_METRICS_EXPECTED_CHAINSPEC: 'casper' });
    expect(run.status).toBe(0);
    expect(JSON.parse(await agent.next()).WrongChainspec).toBe(1);
  });

  test('not configured, or a node that does not answer: no WrongChainspec', async () => {
    expect((await collect('/status-2.0', iso(now))).doc).not.toHaveProperty('WrongChainspec');
    expect((await collect('/error-500', iso(now), ['--expected-chainspec', 'casper'])).doc).not.toHaveProperty('WrongChainspec');
  });
});

describe('the sidecar\'s JSON-RPC (RpcUp, RpcLatencyMilliseconds)', () => {
  const now = BLOCK_20 + 5_000;
  const rpc = (route: string) => ['--rpc-url', `${nodeUrl}${route}`];

  test('answers: RpcUp 1 and the latency; the request is info_get_status as JSON-RPC 2.0', async () => {
    rpcRequests.length = 0;
    const { doc } = await collect('/status-2.0', iso(now), rpc('/rpc'));
    expect(doc.RpcUp).toBe(1);
    expect(doc.RpcLatencyMilliseconds).toBeGreaterThanOrEqual(0);
    expect(doc.RpcLatencyMilliseconds).toBeLessThan(1_000);
    expect(doc._aws.CloudWatchMetrics[0].Metrics.slice(-2)).toEqual([
      { Name: 'RpcUp', Unit: 'None', StorageResolution: 1 },
      { Name: 'RpcLatencyMilliseconds', Unit: 'Milliseconds', StorageResolution: 1 },
    ]);
    expect(doc).not.toHaveProperty('RpcError');
    expect(rpcRequests).toHaveLength(1);
    expect(rpcRequests[0].method).toBe('POST');
    expect(rpcRequests[0].contentType).toBe('application/json');
    expect(JSON.parse(rpcRequests[0].body)).toEqual({ jsonrpc: '2.0', id: 1, method: 'info_get_status', params: [] });
  });

  test('slow (1.5 s): up, and the latency shows it', async () => {
    const { doc } = await collect('/status-2.0', iso(now), rpc('/rpc-slow'));
    expect(doc.RpcUp).toBe(1);
    expect(doc.RpcLatencyMilliseconds).toBeGreaterThanOrEqual(1_500);
  });

  test('slower than the timeout: down', async () => {
    const { doc } = await collect('/status-2.0', iso(now), [...rpc('/rpc-slow'), '--timeout-seconds', '1']);
    expect(doc.RpcUp).toBe(0);
    expect(doc.RpcError).toBe('timeout after 1 s');
    expect(doc).not.toHaveProperty('RpcLatencyMilliseconds');
  });

  test.each([
    ['a JSON-RPC error', '/rpc-error', 'JSON-RPC error: Method not found'],
    ['an answer without a result', '/rpc-no-result', 'no result in the answer'],
    ['an answer that is not JSON', '/rpc-garbage', 'invalid JSON: Expecting value: line 1 column 1 (char 0)'],
    ['HTTP 500', '/rpc-500', 'HTTP 500'],
  ])('%s: down, with the reason', async (_name, route, error) => {
    const { doc } = await collect('/status-2.0', iso(now), rpc(route));
    expect(doc.RpcUp).toBe(0);
    expect(doc.RpcError).toBe(error);
  });

  test('connection refused: down', async () => {
    const { doc } = await collect('/status-2.0', iso(now), ['--rpc-url', `http://127.0.0.1:${closedPort}/rpc`]);
    expect(doc).toMatchObject({ RpcUp: 0, RpcError: 'connection refused' });
  });

  test('before the bootstrap is complete: not checked (the sidecar starts late in the bootstrap)', async () => {
    rpcRequests.length = 0;
    const { doc } = await collect('/status-2.0', iso(now), [...rpc('/rpc'), '--bootstrap-done-file', path.join(TMP, 'not-done')]);
    expect(doc.BootstrapComplete).toBe(0);
    expect(doc).not.toHaveProperty('RpcUp');
    expect(rpcRequests).toHaveLength(0);
  });

  test('without --rpc-url: no RPC metrics', async () => {
    const { doc } = await collect('/status-2.0', iso(now));
    expect(doc).not.toHaveProperty('RpcUp');
  });
});
