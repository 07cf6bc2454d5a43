// Runs the RPC probe's real handler (src/monitoring/casper-rpc-probe.lambda.ts, and once
// its esbuild bundle in a child `node`) against a local JSON-RPC server on 127.0.0.1.
//
// "now" is the clock (as in Lambda): the server stamps the fixture's last block a few
// seconds before it answers.
import { execFile, execFileSync } from 'child_process';
import { existsSync, readFileSync, statSync } from 'fs';
import * as http from 'http';
import { AddressInfo, Socket } from 'net';
import * as path from 'path';
import { handler } from '../../src/monitoring/casper-rpc-probe.lambda';

const ROOT = path.join(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'assets', 'monitoring', 'casper-rpc-probe.lambda', 'index.js');
const SOURCES = ['casper-rpc-probe.lambda.ts', 'rpc-probe/verdict.ts', 'canary/verdict.ts', 'canary/http-exchange.ts'].map((f) => `src/monitoring/${f}`);
const STATUS_20 = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'casper', 'status-2.0.json'), 'utf8')) as Record<string, any>;

/** The fixture as the result of a JSON-RPC answer, its last block `ageSeconds` old now. */
function answer(ageSeconds = 5, patch: Record<string, unknown> = {}): string {
  const block = { ...STATUS_20.last_added_block_info, timestamp: new Date(Date.now() - ageSeconds * 1000).toISOString() };
  return JSON.stringify({ jsonrpc: '2.0', id: 1, result: { ...STATUS_20, last_added_block_info: block, ...patch } });
}

type Responder = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const json = (body: () => string, code = 200): Responder => (_req, res) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(body());
};

let server: http.Server;
let baseUrl: string;
let respond: Responder;
const requests: { method?: string; url?: string; contentType?: string; connection?: string; body: string }[] = [];
const sockets = new Set<Socket>();
const savedEnv = { ...process.env };
let logs: { level: 'log' | 'error'; line: string }[];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method, url: req.url, contentType: req.headers['content-type'], connection: req.headers.connection, body: Buffer.concat(chunks).toString('utf8'),
      });
      respond(req, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
  respond = json(() => answer());
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push({ level: 'log', line }); });
  jest.spyOn(console, 'error').mockImplementation((line: string) => { logs.push({ level: 'error', line }); });
  process.env = { ...savedEnv, RPC_URL: `${baseUrl}/rpc`, EXPECTED_CHAINSPEC: 'casper-test', MAX_BLOCK_AGE_SECONDS: '600', REQUEST_TIMEOUT_MS: '500' };
});

afterEach(() => {
  jest.restoreAllMocks();
  process.env = savedEnv;
  // Connections left open by a hanging responder.
  for (const socket of sockets) socket.destroy();
});

/** The handler's rejection message, or undefined when it resolved. */
async function failureOf(): Promise<string | undefined> {
  try {
    await handler();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function expectFailed(message: string) {
  expect(await failureOf()).toBe(message);
  expect(logs).toEqual([{ level: 'error', line: `casper RPC probe failed: ${message}` }]);
}

describe('the probe handler against a local JSON-RPC server', () => {
  test('a good answer: resolves with the verdict and logs one line', async () => {
    const verdict = await handler();
    expect(verdict).toMatchObject({ passed: true, chainspecName: 'casper-test', height: 5102733, apiVersion: '2.0.0' });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toEqual({ level: 'log', line: expect.stringMatching(/^casper RPC probe passed: height 5102733, era 18214, block 5(\.\d+)? s old, 5 peers, KeepUp$/) });
  });

  test('it POSTs info_get_status as JSON to the URL\'s path', async () => {
    await handler();
    expect(requests).toEqual([{
      method: 'POST',
      url: '/rpc',
      contentType: 'application/json',
      connection: 'close',
      body: '{"jsonrpc":"2.0","id":1,"method":"info_get_status","params":[]}',
    }]);
  });

  test('each check on a fresh connection: one the server closed between checks is not reused', async () => {
    await handler();
    // Lambda freezes the environment between runs; the load balancer may close an idle connection meanwhile.
    for (const socket of sockets) socket.destroy();
    await handler();
    expect(logs.map((l) => l.level)).toEqual(['log', 'log']);
    expect(requests.map((r) => r.connection)).toEqual(['close', 'close']);
  });

  test('the wrong chainspec: throws with the reason', async () => {
    respond = json(() => answer(5, { chainspec_name: 'casper' }));
    await expectFailed('chainspec_name is \'casper\', expected \'casper-test\'');
  });

  test('a JSON-RPC error object: throws with its code and message', async () => {
    respond = json(() => JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }));
    await expectFailed('JSON-RPC error -32601: Method not found');
  });

  test('a stale block: throws with its age', async () => {
    respond = json(() => answer(700));
    const message = await failureOf();
    expect(message).toMatch(/^last block is 700(\.\d+)? s old \(height 5102733\), more than 600 s$/);
  });

  test('HTTP 503 (no healthy target behind the load balancer)', async () => {
    respond = json(() => 'no healthy upstream', 503);
    await expectFailed('HTTP 503 from the RPC endpoint');
  });

  test('a server that never answers: times out after REQUEST_TIMEOUT_MS', async () => {
    respond = () => { /* hang */ };
    const started = Date.now();
    await expectFailed('no answer: timeout after 500 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('headers, then a body that never ends: the timeout covers the body too', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"jsonrpc":"2.0",');
    };
    await expectFailed('no answer: timeout after 500 ms');
  });

  test('a body over the read limit is cut and fails', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"jsonrpc":"2.0","id":1,"result":{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}}`);
    };
    await expectFailed('RPC answer is too large (cut at the read limit)');
  });

  test('nothing listening: connection refused', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    process.env.RPC_URL = `http://127.0.0.1:${port}/rpc`;
    await expectFailed('no answer: ECONNREFUSED');
  });

  test.each([
    [{ RPC_URL: undefined }, 'RPC_URL is not set'],
    [{ RPC_URL: 'not a url' }, 'RPC_URL is not a valid URL: \'not a url\''],
    [{ RPC_URL: 'ftp://127.0.0.1/rpc' }, 'RPC_URL must be http or https, got \'ftp://127.0.0.1/rpc\''],
    [{ EXPECTED_CHAINSPEC: '' }, 'EXPECTED_CHAINSPEC is not set'],
    [{ MAX_BLOCK_AGE_SECONDS: undefined }, 'MAX_BLOCK_AGE_SECONDS is not set'],
    [{ MAX_BLOCK_AGE_SECONDS: '-1' }, 'MAX_BLOCK_AGE_SECONDS must be a number >= 0, got \'-1\''],
    [{ REQUEST_TIMEOUT_MS: '1.5' }, 'REQUEST_TIMEOUT_MS must be a positive integer, got \'1.5\''],
  ] as Array<[Record<string, string | undefined>, string]>)('a configuration error (%p) fails the run without a request', async (env, message) => {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    expect(await failureOf()).toBe(`casper RPC probe not run: ${message}`);
    expect(logs).toEqual([{ level: 'error', line: `casper RPC probe not run: ${message}` }]);
    expect(requests).toEqual([]);
  });
});

describe('the bundled handler (assets/monitoring/casper-rpc-probe.lambda/index.js)', () => {
  beforeAll(() => {
    const newest = Math.max(...SOURCES.map((f) => statSync(path.join(ROOT, f)).mtimeMs));
    if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < newest) {
      execFileSync('npx', ['projen', 'bundle:monitoring/casper-rpc-probe.lambda'], { cwd: ROOT, stdio: 'pipe' });
    }
  });

  /** Runs `index.handler` of the bundle in a child node with `env`; its outcome and output. */
  function runBundle(env: Record<string, string>): Promise<{ outcome: string; stdout: string; stderr: string }> {
    const script = `require(${JSON.stringify(BUNDLE)}).handler().then(
      (v) => process.stdout.write('RESOLVED ' + v.passed + '\\n'),
      (e) => process.stdout.write('REJECTED ' + e.message + '\\n'))`;
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(err);
        else resolve({ outcome: stdout.split('\n').filter((l) => /^(RESOLVED|REJECTED) /.test(l)).join('\n'), stdout, stderr });
      });
    });
  }

  const env = () => ({ RPC_URL: `${baseUrl}/rpc`, EXPECTED_CHAINSPEC: 'casper-test', MAX_BLOCK_AGE_SECONDS: '600' });

  test('passes on a good answer, logging one line', async () => {
    const run = await runBundle(env());
    expect(run.outcome).toBe('RESOLVED true');
    expect(run.stdout).toMatch(/^casper RPC probe passed: height 5102733, era 18214, block \d+(\.\d+)? s old, 5 peers, KeepUp\n/);
    expect(run.stderr).toBe('');
  });

  test('throws with the reason on a wrong chainspec, logging one line', async () => {
    respond = json(() => answer(5, { chainspec_name: 'casper' }));
    const run = await runBundle(env());
    expect(run.outcome).toBe('REJECTED chainspec_name is \'casper\', expected \'casper-test\'');
    expect(run.stderr).toBe('casper RPC probe failed: chainspec_name is \'casper\', expected \'casper-test\'\n');
  });
});
