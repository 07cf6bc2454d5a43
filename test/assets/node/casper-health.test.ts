import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { FROMISOFORMAT, PYTHON, STATUS_15, STATUS_20, shippedPythonScriptTests } from '../../support/node-python';
import { NODE_ASSETS } from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/casper-health.py: the real script, run by
 * python3 as a server on a loopback port, against a local HTTP server
 * standing in for the node's /status and the sidecar's JSON-RPC. Every
 * server gets --now, so block ages are exact.
 */

const SCRIPT = path.join(NODE_ASSETS, 'casper-health.py');
/** The 2.0 fixture's newest block (epoch ms) and "now", 12.5 s later (the body gives whole seconds: 12). */
const BLOCK_20 = Date.parse('2025-06-24T09:41:16.864Z');
const NOW = BLOCK_20 + 12_500;
const NOW_ARG = String(NOW / 1000);

/**
 * Every reactor state casper-node 2.x defines: `enum ReactorState` in
 * casper-network/casper-node types/src/reactor_state.rs (1.5:
 * node/src/reactor/main_reactor/reactor_state.rs, the same six).
 */
const REACTOR_STATES = ['Initialize', 'CatchUp', 'Upgrading', 'KeepUp', 'Validate', 'ShutdownForUpgrade'];

/** The 2.0 fixture with some fields changed. */
function status20(edit: (s: any) => void): string {
  const s = JSON.parse(STATUS_20);
  edit(s);
  return JSON.stringify(s);
}

/** An RFC 3339 time `seconds` before NOW. */
function agedBy(seconds: number): string {
  return new Date(NOW - seconds * 1000).toISOString();
}

/** Peers entries as the status lists them. */
function peers(n: number): object[] {
  return Array.from({ length: n }, (_, i) => ({ node_id: `tls:${i}`, address: `192.0.2.${i + 1}:35000` }));
}

interface Answer {
  readonly status: number;
  readonly body: string;
  /** Answer after this long; 'never' keeps the request open. */
  readonly delayMs?: number | 'never';
}

/** A sidecar's info_get_status answer (trimmed). */
const RPC_RESULT = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { api_version: '2.0.0', chainspec_name: 'casper-test', reactor_state: 'KeepUp' } });
const RPC_OK: Answer = { status: 200, body: RPC_RESULT };
const STATUS_OK: Answer = { status: 200, body: STATUS_20 };

/** Stands in for the node (GET /status) and the sidecar (POST /rpc); its answers are changed by the tests. */
class FakeNode {
  static async start(): Promise<FakeNode> {
    const fake = new FakeNode();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  status: Answer = STATUS_OK;
  rpc: Answer = RPC_OK;
  statusRequests = 0;
  readonly rpcRequests: { method: string; contentType: string; body: string }[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let answer: Answer;
      if (req.url === '/status') {
        this.statusRequests += 1;
        answer = this.status;
      } else if (req.url === '/rpc') {
        this.rpcRequests.push({ method: req.method ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
        answer = this.rpc;
      } else {
        answer = { status: 404, body: 'not found' };
      }
      if (answer.delayMs === 'never') return;
      setTimeout(() => {
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  reset(): void {
    this.status = STATUS_OK;
    this.rpc = RPC_OK;
    this.statusRequests = 0;
    this.rpcRequests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A local port nothing listens on (free at the time of the call). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** casper-health.py running as a server on a loopback port. */
class HealthServer {
  /** Starts it with these options (and --bind 127.0.0.1 --port <free>); resolves once it serves. */
  static async start(args: string[], env: Record<string, string> = {}, withPort = true): Promise<HealthServer> {
    const port = withPort ? await freePort() : Number(env.CASPER_HEALTH_PORT);
    const child = spawn(PYTHON, [SCRIPT, '--bind', '127.0.0.1', ...(withPort ? ['--port', String(port)] : []), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
    });
    const server = new HealthServer(child, port);
    running.push(server);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`casper-health did not start: ${server.stderr}`)), 10_000);
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        server.stderr += d;
        if (server.stderr.includes('casper-health: serving')) { clearTimeout(timer); resolve(); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`casper-health exited ${code}: ${server.stderr}`)); });
    });
    return server;
  }

  stderr = '';
  private constructor(private readonly child: ChildProcess, readonly port: number) {}

  /** One request; resolves with the answer and how long it took. */
  request(method: string, urlPath: string): Promise<{ code: number; body: string; headers: http.IncomingHttpHeaders; ms: number }> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path: urlPath, timeout: 15_000, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({
          code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, ms: Date.now() - started,
        }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end();
    });
  }

  /** GET /healthz: the HTTP code and the parsed one-line body. */
  async health(): Promise<{ code: number; body: any; ms: number }> {
    const r = await this.request('GET', '/healthz');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.endsWith('\n')).toBe(true);
    expect(r.body.slice(0, -1)).not.toContain('\n');
    return { code: r.code, body: JSON.parse(r.body), ms: r.ms };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.on('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

const running: HealthServer[] = [];
let node: FakeNode;
/** The endpoint as the bootstrap configures it on a network with the sidecar; no cache, so every request looks again. */
let health: HealthServer;
/** Verdicts seen, for the table written to $CASPER_HEALTH_VERDICT_TABLE (a report, not a check). */
const observed: { condition: string; code: number; reason: string }[] = [];

/** Checks a verdict and records it. */
function expectVerdict(condition: string, got: { code: number; body: any }, code: number, body: object): void {
  expect({ condition, code: got.code, body: got.body }).toEqual({ condition, code, body });
  observed.push({ condition, code: got.code, reason: got.body.reason ?? JSON.stringify(got.body) });
}

const limits = ['--max-block-age-seconds', '600', '--min-peers', '3', '--timeout-seconds', '1', '--now', NOW_ARG];

beforeAll(async () => {
  node = await FakeNode.start();
  health = await HealthServer.start([
    '--status-url', `${node.url}/status`, '--rpc-url', `${node.url}/rpc`, '--cache-seconds', '0', ...limits,
  ]);
});

beforeEach(() => node.reset());

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await node.stop();
  const table = process.env.CASPER_HEALTH_VERDICT_TABLE;
  if (table) {
    const rows = observed.map((o) => `| ${o.condition} | ${o.code} | ${o.reason.replace(/\|/g, '\\|')} |`);
    fs.writeFileSync(table, ['| fixture / condition | HTTP | reason (or 200 body) |', '|---|---|---|', ...rows, ''].join('\n'));
  }
});

/** The 200 body of the 2.0 fixture 12 s after its block. */
const HEALTHY_20 = { healthy: true, reactor_state: 'KeepUp', block_age_seconds: 12, peers: 5 };

describe('every reactor state of casper-node 2.x', () => {
  test.each(REACTOR_STATES.filter((s) => !['KeepUp', 'Validate'].includes(s)))('%s: 503, the node is not at the tip', async (state) => {
    node.status = { status: 200, body: status20((s) => { s.reactor_state = state; }) };
    expectVerdict(`status-2.0, reactor state ${state}`, await health.health(), 503,
      { healthy: false, reason: `reactor state is ${state}, not KeepUp or Validate` });
  });

  test('KeepUp: 200, with the state, block age and peers', async () => {
    expectVerdict('status-2.0 (KeepUp, 5 peers, block 12 s old), RPC answers', await health.health(), 200, HEALTHY_20);
    expect(node.rpcRequests).toEqual([{
      method: 'POST', contentType: 'application/json', body: '{"jsonrpc":"2.0","id":1,"method":"info_get_status","params":[]}',
    }]);
  });

  // Validate means "caught up and an active validator" (casper-node keep_up.rs enters
  // it from KeepUp only): in sync, as casper-metrics.py's SYNCED_STATES has it.
  test('Validate: 200 as well', async () => {
    node.status = { status: 200, body: status20((s) => { s.reactor_state = 'Validate'; }) };
    expectVerdict('status-2.0, reactor state Validate', await health.health(), 200, { ...HEALTHY_20, reactor_state: 'Validate' });
  });

  test('the list covers every state the script knows, and the synced ones are casper-metrics.py\'s (one definition, in casper_status.py)', () => {
    const shared = fs.readFileSync(path.join(NODE_ASSETS, 'casper_status.py'), 'utf8');
    expect(shared).toContain('SYNCED_STATES = ("KeepUp", "Validate")');
    for (const script of [SCRIPT, path.join(NODE_ASSETS, 'casper-metrics.py')]) {
      const source = fs.readFileSync(script, 'utf8');
      expect(source).toMatch(/^from casper_status import .*\bSYNCED_STATES\b/m);
      expect(source).not.toContain('SYNCED_STATES = ');
    }
    const source = fs.readFileSync(SCRIPT, 'utf8');
    for (const state of REACTOR_STATES) expect(`${source}${shared}`).toContain(state);
  });

  test('an unknown state: 503 all the same', async () => {
    node.status = { status: 200, body: status20((s) => { s.reactor_state = 'Syncing'; }) };
    expectVerdict('status-2.0, reactor state Syncing (unknown)', await health.health(), 503,
      { healthy: false, reason: 'reactor state is Syncing, not KeepUp or Validate' });
  });
});

describe('the newest block', () => {
  test('599 s old: 200', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = agedBy(599); }) };
    expectVerdict('block 599 s old (limit 600)', await health.health(), 200, { ...HEALTHY_20, block_age_seconds: 599 });
  });

  test('600 s old: 503, too old', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = agedBy(600); }) };
    expectVerdict('block 600 s old (limit 600)', await health.health(), 503,
      { healthy: false, reason: 'newest block is 600 s old, not younger than 600 s' });
  });

  test('a day old: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = agedBy(86_400); }) };
    expectVerdict('block a day old', await health.health(), 503,
      { healthy: false, reason: 'newest block is 86400 s old, not younger than 600 s' });
  });

  test('no block yet: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info = null; }) };
    expectVerdict('no block yet (last_added_block_info null)', await health.health(), 503,
      { healthy: false, reason: 'no block yet (last_added_block_info is null)' });
  });

  test('an unparseable timestamp: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = 'yesterday'; }) };
    expectVerdict('block timestamp "yesterday"', await health.health(), 503,
      { healthy: false, reason: "bad last_added_block_info: not an RFC 3339 timestamp: 'yesterday'" });
  });

  test('block info that is not an object: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info = 'pending'; }) };
    expectVerdict('last_added_block_info "pending"', await health.health(), 503,
      { healthy: false, reason: 'bad last_added_block_info: not an object' });
  });

  test('a block from the future (clock behind): age 0, 200', async () => {
    node.status = { status: 200, body: status20((s) => { s.last_added_block_info.timestamp = agedBy(-30); }) };
    expectVerdict('block 30 s in the future', await health.health(), 200, { ...HEALTHY_20, block_age_seconds: 0 });
  });
});

describe('peers', () => {
  test('2, below the minimum 3: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.peers = peers(2); }) };
    expectVerdict('2 peers (minimum 3)', await health.health(), 503, { healthy: false, reason: '2 peers, fewer than 3' });
  });

  test('exactly the minimum 3: 200', async () => {
    node.status = { status: 200, body: status20((s) => { s.peers = peers(3); }) };
    expectVerdict('3 peers (minimum 3)', await health.health(), 200, { ...HEALTHY_20, peers: 3 });
  });

  test('none: 503', async () => {
    node.status = { status: 200, body: status20((s) => { s.peers = []; }) };
    expectVerdict('0 peers (minimum 3)', await health.health(), 503, { healthy: false, reason: '0 peers, fewer than 3' });
  });

  test('no peers field: 503', async () => {
    node.status = { status: 200, body: status20((s) => { delete s.peers; }) };
    expectVerdict('status without peers', await health.health(), 503, { healthy: false, reason: 'status: no peers list' });
  });
});

describe('the node\'s status', () => {
  test('the 1.5 fixture (6 peers, KeepUp) is read the same way', async () => {
    node.status = { status: 200, body: STATUS_15 };
    const block = Date.parse('2025-03-18T14:22:41.408Z');
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, '--cache-seconds', '0', ...limits.slice(0, -1), String((block + 42_500) / 1000)]);
    expectVerdict('status-1.5 (KeepUp, 6 peers, block 42 s old), no sidecar', await server.health(), 200,
      { healthy: true, reactor_state: 'KeepUp', block_age_seconds: 42, peers: 6 });
  });

  test('connection refused: 503', async () => {
    const server = await HealthServer.start(['--status-url', `http://127.0.0.1:${await freePort()}/status`, '--rpc-url', `${node.url}/rpc`, ...limits]);
    expectVerdict('status down (connection refused)', await server.health(), 503, { healthy: false, reason: 'status: connection refused' });
    expect(node.rpcRequests).toEqual([]);
  });

  test('no answer within the timeout: 503 within the time budget', async () => {
    node.status = { status: 200, body: STATUS_20, delayMs: 'never' };
    const got = await health.health();
    expectVerdict('status hangs (timeout 1 s)', got, 503, { healthy: false, reason: 'status: timeout after 1 s' });
    expect(got.ms).toBeLessThan(4_000);
  });

  test.each<[string, Answer, string, string]>([
    ['HTTP 500', { status: 500, body: 'Internal Server Error' }, 'status HTTP 500', 'status: HTTP 500'],
    ['a body that is not JSON', { status: 200, body: '{"peers": ' }, 'status garbage (truncated JSON)',
      'status: invalid JSON: Expecting value: line 1 column 11 (char 10)'],
    ['HTML', { status: 200, body: '<html>' }, 'status garbage (HTML)', 'status: invalid JSON: Expecting value: line 1 column 1 (char 0)'],
    ['no reactor_state', { status: 200, body: status20((s) => { delete s.reactor_state; }) }, 'status without reactor_state',
      'status: no reactor_state'],
  ])('%s: 503', async (_, answer, what, reason) => {
    node.status = answer;
    expectVerdict(what, await health.health(), 503, { healthy: false, reason });
  });

  test.each([['an array', '[1, 2]'], ['a string', '"KeepUp"']])('JSON that is %s: 503', async (_, body) => {
    node.status = { status: 200, body };
    expectVerdict(`status is JSON ${body}`, await health.health(), 503, { healthy: false, reason: 'status: not a JSON object' });
  });

  test('an unhealthy status does not call the RPC', async () => {
    node.status = { status: 200, body: status20((s) => { s.reactor_state = 'CatchUp'; }) };
    expect((await health.health()).code).toBe(503);
    expect(node.rpcRequests).toEqual([]);
  });
});

describe('the sidecar\'s JSON-RPC', () => {
  test.each<[string, Answer, string, string]>([
    ['an error object', { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }) },
      'RPC error object', 'sidecar RPC: JSON-RPC error -32601: Method not found'],
    ['garbage', { status: 200, body: '<html>' }, 'RPC garbage (HTML)', 'sidecar RPC: invalid JSON: Expecting value: line 1 column 1 (char 0)'],
    ['no result', { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1 }) }, 'RPC answer without result', 'sidecar RPC: no result in the answer'],
    ['not an object', { status: 200, body: '[]' }, 'RPC answer is JSON []', 'sidecar RPC: the answer is not a JSON object'],
    ['HTTP 500', { status: 500, body: 'Internal Server Error' }, 'RPC HTTP 500', 'sidecar RPC: HTTP 500'],
  ])('%s: 503', async (_, answer, what, reason) => {
    node.rpc = answer;
    expectVerdict(what, await health.health(), 503, { healthy: false, reason });
  });

  test('no answer within the timeout: 503 within the time budget', async () => {
    node.rpc = { ...RPC_OK, delayMs: 3_000 };
    const got = await health.health();
    expectVerdict('RPC timeout (answers after 3 s, timeout 1 s)', got, 503, { healthy: false, reason: 'sidecar RPC: timeout after 1 s' });
    expect(got.ms).toBeLessThan(4_000);
  });

  test('connection refused: 503', async () => {
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, '--rpc-url', `http://127.0.0.1:${await freePort()}/rpc`, ...limits]);
    expectVerdict('RPC down (connection refused)', await server.health(), 503, { healthy: false, reason: 'sidecar RPC: connection refused' });
  });

  test('a network without the sidecar: the RPC is not checked', async () => {
    node.rpc = { status: 500, body: 'down' };
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, ...limits]);
    expectVerdict('no sidecar on the network (RPC not checked, fake RPC answering 500)', await server.health(), 200, HEALTHY_20);
    expect(node.rpcRequests).toEqual([]);
  });
});

describe('HTTP', () => {
  test.each(['/', '/health', '/healthz/', '/status'])('GET %s: 404', async (p) => {
    const r = await health.request('GET', p);
    expect({ code: r.code, body: JSON.parse(r.body) }).toEqual({ code: 404, body: { error: 'not found; the health check is GET /healthz' } });
    observed.push({ condition: `GET ${p}`, code: r.code, reason: JSON.parse(r.body).error });
  });

  test('a query string is ignored', async () => {
    expect((await health.request('GET', '/healthz?from=nlb')).code).toBe(200);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'BREW'])('%s /healthz: 405, Allow: GET', async (method) => {
    const r = await health.request(method, '/healthz');
    expect({ code: r.code, allow: r.headers.allow, body: JSON.parse(r.body) })
      .toEqual({ code: 405, allow: 'GET', body: { error: `method ${method} not allowed; use GET` } });
    observed.push({ condition: `${method} /healthz`, code: r.code, reason: JSON.parse(r.body).error });
  });

  test('HEAD /healthz: 405 without a body', async () => {
    const r = await health.request('HEAD', '/healthz');
    expect({ code: r.code, allow: r.headers.allow, body: r.body }).toEqual({ code: 405, allow: 'GET', body: '' });
  });

  test('answers are not cached by clients', async () => {
    expect((await health.request('GET', '/healthz')).headers['cache-control']).toBe('no-store');
  });
});

describe('time budget and cache', () => {
  test('checks slower than the deadline: 503 at the deadline', async () => {
    node.status = { status: 200, body: STATUS_20, delayMs: 'never' };
    const server = await HealthServer.start([
      '--status-url', `${node.url}/status`, '--rpc-url', `${node.url}/rpc`, ...limits, '--timeout-seconds', '10', '--deadline-seconds', '1',
    ]);
    const got = await server.health();
    expectVerdict('status hangs, request timeout 10 s, deadline 1 s', got, 503, { healthy: false, reason: 'the checks took longer than 1 s' });
    expect(got.ms).toBeGreaterThanOrEqual(900);
    expect(got.ms).toBeLessThan(3_000);
  });

  test('a burst of health checks costs the node one status and one RPC request; later ones look again', async () => {
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, '--rpc-url', `${node.url}/rpc`, ...limits, '--cache-seconds', '1.5']);
    node.status = { ...STATUS_OK, delayMs: 300 };
    const burst = await Promise.all(Array.from({ length: 6 }, () => server.health()));
    expect(burst.map((g) => [g.code, g.body])).toEqual(Array(6).fill([200, HEALTHY_20]));
    expect({ status: node.statusRequests, rpc: node.rpcRequests.length }).toEqual({ status: 1, rpc: 1 });
    // Within the cache time: the same verdict, even though the node changed.
    node.status = { status: 200, body: status20((s) => { s.reactor_state = 'CatchUp'; }) };
    expect((await server.health()).code).toBe(200);
    expect(node.statusRequests).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    expect(await server.health()).toMatchObject({ code: 503, body: { reason: 'reactor state is CatchUp, not KeepUp or Validate' } });
    expect(node.statusRequests).toBe(2);
  });

  test('with --cache-seconds 0 every health check looks again', async () => {
    await health.health();
    await health.health();
    expect(node.statusRequests).toBe(2);
  });

  test('changes of the verdict are logged, repeats are not', async () => {
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, ...limits, '--cache-seconds', '0']);
    await server.health();
    await server.health();
    node.status = { status: 200, body: status20((s) => { s.reactor_state = 'CatchUp'; }) };
    await server.health();
    await server.health();
    await new Promise((resolve) => setTimeout(resolve, 200)); // stderr may trail the answers
    const lines = server.stderr.split('\n').filter((l) => l !== '');
    expect(lines.slice(1)).toEqual([
      'casper-health: {"healthy":true,"reactor_state":"KeepUp","block_age_seconds":12,"peers":5}',
      'casper-health: {"healthy":false,"reason":"reactor state is CatchUp, not KeepUp or Validate"}',
    ]);
  });
});

describe('settings', () => {
  test('from the environment, as /etc/casper-health.env sets them', async () => {
    const port = await freePort();
    const server = await HealthServer.start(['--now', NOW_ARG], {
      CASPER_HEALTH_BIND: '127.0.0.1',
      CASPER_HEALTH_PORT: String(port),
      CASPER_HEALTH_STATUS_URL: `${node.url}/status`,
      CASPER_HEALTH_RPC_URL: `${node.url}/rpc`,
      CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS: '10',
      CASPER_HEALTH_MIN_PEERS: '6',
    }, false);
    expect(server.stderr).toContain(`casper-health: serving GET /healthz on 127.0.0.1:${port} (status ${node.url}/status, RPC ${node.url}/rpc)`);
    expect((await server.health()).body).toEqual({ healthy: false, reason: 'newest block is 12 s old, not younger than 10 s' });
  });

  test('an empty RPC URL in the environment means no RPC check', async () => {
    node.rpc = { status: 500, body: 'down' };
    const server = await HealthServer.start(['--status-url', `${node.url}/status`, ...limits], { CASPER_HEALTH_RPC_URL: '' });
    expect((await server.health()).code).toBe(200);
    expect(node.rpcRequests).toEqual([]);
  });

  test.each([
    [['--port', '0'], "argument --port: expected a port (1 to 65535), got '0'"],
    [['--port', '65536'], "argument --port: expected a port (1 to 65535), got '65536'"],
    [['--min-peers', '-1'], "argument --min-peers: expected a whole number (at least 0), got '-1'"],
    [['--max-block-age-seconds', '0'], "argument --max-block-age-seconds: expected a whole number of seconds (at least 1), got '0'"],
    [['--timeout-seconds', 'nan'], "argument --timeout-seconds: expected a number of seconds (0.1 to 30), got 'nan'"],
    [['--cache-seconds', '-1'], "argument --cache-seconds: expected a number of seconds (0 to 60), got '-1'"],
  ])('bad option %j: exit 2', (args, message) => {
    const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('a bad value in the environment: exit 2', () => {
    const r = spawnSync(PYTHON, [SCRIPT], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CASPER_HEALTH_MIN_PEERS: 'three' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("argument --min-peers: expected a whole number (at least 0), got 'three'");
  });

  test('a port in use: exit 1 with the reason', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = spawnSync(PYTHON, [SCRIPT, '--bind', '127.0.0.1', '--port', String(port)], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`casper-health: cannot listen on 127.0.0.1:${port}:`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

/** verdict(status, rpc_problem, now, max_block_age_seconds, min_peers) of the script, called directly. */
function callVerdict(...args: unknown[]): [boolean, any] {
  const r = spawnSync(PYTHON, ['-c', `
import json, os, runpy, sys
# As on an instance: casper_status.py beside the script, where Python looks first.
sys.path.insert(0, os.path.dirname(sys.argv[1]))
g = runpy.run_path(sys.argv[1])
print(json.dumps(g["verdict"](*json.loads(sys.argv[2]))))
`, SCRIPT, JSON.stringify(args)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('the pure verdict function', () => {
  const status = JSON.parse(STATUS_20);
  const now = NOW / 1000;

  test('healthy: the body names the state, the whole seconds of block age and the peers', () => {
    expect(callVerdict(status, null, now, 600, 3)).toEqual([true, HEALTHY_20]);
    expect(callVerdict(status, null, now + 0.499, 600, 3)).toEqual([true, HEALTHY_20]);
    expect(callVerdict(status, null, now + 0.5, 600, 3)).toEqual([true, { ...HEALTHY_20, block_age_seconds: 13 }]);
  });

  test('the checks in order: status, reactor state, block, age, peers, RPC', () => {
    const s = { ...status, reactor_state: 'CatchUp', peers: [], last_added_block_info: null };
    expect(callVerdict('status: connection refused', 'x', now, 600, 3)).toEqual([false, { healthy: false, reason: 'status: connection refused' }]);
    expect(callVerdict(s, 'x', now, 600, 3)[1].reason).toBe('reactor state is CatchUp, not KeepUp or Validate');
    expect(callVerdict({ ...s, reactor_state: 'KeepUp' }, 'x', now, 600, 3)[1].reason).toBe('no block yet (last_added_block_info is null)');
    expect(callVerdict({ ...status, peers: [] }, 'x', now + 700, 600, 3)[1].reason).toBe('newest block is 712 s old, not younger than 600 s');
    expect(callVerdict({ ...status, peers: [] }, 'x', now, 600, 3)[1].reason).toBe('0 peers, fewer than 3');
    expect(callVerdict(status, 'connection refused', now, 600, 3)[1].reason).toBe('sidecar RPC: connection refused');
  });

  test('peers as a map (older shape) are counted; a minimum of 0 accepts none', () => {
    expect(callVerdict({ ...status, peers: { a: '1', b: '2', c: '3' } }, null, now, 600, 3)).toEqual([true, { ...HEALTHY_20, peers: 3 }]);
    expect(callVerdict({ ...status, peers: [] }, null, now, 600, 0)).toEqual([true, { ...HEALTHY_20, peers: 0 }]);
  });

  test('RFC 3339 timestamps with offsets and long fractions', () => {
    const at = (timestamp: string) => {
      const block = { ...status.last_added_block_info, timestamp };
      return callVerdict({ ...status, last_added_block_info: block }, null, now, 600, 3)[1];
    };
    expect(at('2025-06-24T11:41:16.864000001+02:00').block_age_seconds).toBe(12);
    expect(at('2025-06-24T09:41:16Z').block_age_seconds).toBe(13);
    expect(at('2025-06-24 09:41:04.864z').block_age_seconds).toBe(24);
  });

  test('not a status object', () => {
    expect(callVerdict([1], null, now, 600, 3)).toEqual([false, { healthy: false, reason: 'status: not a JSON object' }]);
  });
});

describe('the script and its unit', () => {
  /** The standard-library modules the endpoint may import (Python 3.10, nothing from PyPI). */
  const ALLOWED = [
    'argparse', 'datetime', 'http.client', 'http.server', 'json', 'os', 're', 'socket', 'sys', 'threading', 'time',
    'urllib.error', 'urllib.parse', 'urllib.request',
    // casper_status.py, shipped beside the script (test/assets/node/casper-status.test.ts checks its own imports).
    'casper_status',
  ];

  shippedPythonScriptTests(SCRIPT, ALLOWED, [/__import__|importlib/, FROMISOFORMAT]);

  test('binds every address by default (the load balancer must reach it) on 8889', () => {
    const source = fs.readFileSync(SCRIPT, 'utf8');
    expect(source).toMatch(/^DEFAULT_BIND = "0\.0\.0\.0"/m);
    expect(source).toMatch(/^DEFAULT_PORT = 8889$/m);
    // The request timeout twice (status, then RPC) fits in the deadline, which stays under 4 s.
    const seconds = (name: string) => Number(new RegExp(`^${name} = ([0-9.]+)$`, 'm').exec(source)![1]);
    expect(2 * seconds('DEFAULT_TIMEOUT_SECONDS')).toBeLessThanOrEqual(seconds('DEFAULT_DEADLINE_SECONDS'));
    expect(seconds('DEFAULT_DEADLINE_SECONDS')).toBeLessThan(4);
  });

  test('the unit runs it for good, hardened like the collector, with its settings file', () => {
    const service = fs.readFileSync(path.join(NODE_ASSETS, 'casper-health.service'), 'utf8').split('\n');
    for (const line of [
      'Type=simple', 'Restart=always', 'StartLimitIntervalSec=0', 'EnvironmentFile=/etc/casper-health.env',
      'ExecStart=/usr/bin/python3 /usr/local/sbin/casper-health.py',
      'DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6', 'WantedBy=multi-user.target',
    ]) {
      expect(service).toContain(line);
    }
  });
});
