// Runs the BUNDLED canary (assets/canary/nodejs/node_modules/casper-canary.js) against a
// local HTTP server, in a child `node` with doubles of the Synthetics runtime modules.
//
// "now": the fixtures' blocks are from 2025, so each run sets CASPER_CANARY_NOW (RFC 3339),
// which the handler honours only when it is set; one test leaves it unset and serves a
// block stamped a few seconds ago, to cover the clock path the real canary takes.
import { execFile } from 'child_process';
import { readFileSync } from 'fs';
import * as http from 'http';
import { builtinModules } from 'module';
import { AddressInfo, Socket } from 'net';
import { BUNDLE, CanaryRun, ensureBundle, SyntheticsRuntime } from './synthetics-runtime';
import { NODE_15, STATUS_15, STATUS_20, status20, TS_15, TS_20 } from '../../support/status-fixtures';

/** RFC 3339 time `seconds` after `ts`. */
const after = (ts: string, seconds: number) => new Date(Date.parse(ts) + seconds * 1000).toISOString();

type Responder = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const json = (body: string, code = 200): Responder => (_req, res) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(body);
};

let runtime: SyntheticsRuntime;
let server: http.Server;
let url: string;
let respond: Responder;
const requests: { method?: string; url?: string; accept?: string }[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  ensureBundle();
  runtime = new SyntheticsRuntime();
  server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, accept: req.headers.accept });
    respond(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
  runtime?.dispose();
});

beforeEach(() => {
  requests.length = 0;
  respond = json(STATUS_20);
});

/** Run the bundled handler with the URL of the test server and `env`. */
function canary(env: Record<string, string>): Promise<CanaryRun> {
  return runtime.run({ CASPER_STATUS_URL: url, ...env });
}

function expectPassed(run: CanaryRun, message: string) {
  expect(run.threw).toBe(false);
  expect(run.result).toMatchObject({ passed: true, message });
  expect(run.steps).toEqual([{ name: 'casperStatus', status: 'passed' }]);
  expect(run.logs).toEqual([{ level: 'info', message: `casper status check passed: ${message}` }]);
}

function expectFailed(run: CanaryRun, message: string) {
  expect(run.threw).toBe(true);
  expect(run.error).toBe(message);
  expect(run.steps).toEqual([{ name: 'casperStatus', status: 'failed', error: message }]);
  expect(run.logs).toEqual([{ level: 'error', message: `casper status check failed: ${message}` }]);
}

describe('bundled canary handler', () => {
  test('status-1.5.json, 30 s after its block: passes', async () => {
    respond = json(STATUS_15);
    const run = await canary({ CASPER_CANARY_NOW: after(TS_15, 30), CASPER_EXPECTED_CHAINSPEC: 'casper' });
    expectPassed(run, 'height 3517642, era 17291, block 30 s old, 6 peers, KeepUp');
    expect(run.result).toEqual({ passed: true, message: 'height 3517642, era 17291, block 30 s old, 6 peers, KeepUp', blockAgeSeconds: 30, ...NODE_15 });
    expect(requests).toEqual([{ method: 'GET', url: '/status', accept: 'application/json' }]);
  });

  test('status-2.0.json, 30 s after its block: passes', async () => {
    const run = await canary({ CASPER_CANARY_NOW: after(TS_20, 30), CASPER_EXPECTED_CHAINSPEC: 'casper-test' });
    expectPassed(run, 'height 5102733, era 18214, block 30 s old, 5 peers, KeepUp');
    expect(requests).toHaveLength(1);
  });

  test('without CASPER_CANARY_NOW the clock is read', async () => {
    const block = { ...JSON.parse(STATUS_20).last_added_block_info, timestamp: new Date(Date.now() - 5000).toISOString() };
    respond = json(status20({ last_added_block_info: block }));
    const run = await canary({});
    expect(run.threw).toBe(false);
    expect(run.result?.message).toMatch(/^height 5102733, era 18214, block 5(\.\d+)? s old, 5 peers, KeepUp$/);
  });

  test('connection refused (closed port): fails', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runtime.run({ CASPER_STATUS_URL: `http://127.0.0.1:${port}/status`, CASPER_CANARY_NOW: after(TS_20, 30) });
    expectFailed(run, 'node did not answer: ECONNREFUSED');
  });

  test('no answer within CASPER_REQUEST_TIMEOUT_MS=300: fails after about 300 ms', async () => {
    respond = () => { /* never answers */ };
    const run = await canary({ CASPER_REQUEST_TIMEOUT_MS: '300', CASPER_CANARY_NOW: after(TS_20, 30) });
    expectFailed(run, 'node did not answer: timeout after 300 ms');
    expect(requests).toHaveLength(1);
    expect(run.elapsedMs).toBeGreaterThanOrEqual(290);
    expect(run.elapsedMs).toBeLessThan(5000);
  });

  test('headers but a body that never ends: the timeout covers the body too', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"peers": [');
    };
    const run = await canary({ CASPER_REQUEST_TIMEOUT_MS: '300', CASPER_CANARY_NOW: after(TS_20, 30) });
    expectFailed(run, 'node did not answer: timeout after 300 ms');
  });

  test('HTTP 500: fails', async () => {
    respond = json('{"error":"internal"}', 500);
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30) }), 'HTTP 500 from the status endpoint');
  });

  test('malformed JSON: fails', async () => {
    respond = json(STATUS_20.slice(0, STATUS_20.length / 2));
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30) }), 'status body is not valid JSON');
  });

  test('a body over 1 MiB is cut and fails', async () => {
    respond = json(`{"pad":"${'x'.repeat(1024 * 1024)}"}`);
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30) }), 'status body is too large (cut at the read limit)');
  });

  test('wrong chainspec name: fails', async () => {
    const run = await canary({ CASPER_CANARY_NOW: after(TS_20, 30), CASPER_EXPECTED_CHAINSPEC: 'casper' });
    expectFailed(run, "chainspec_name is 'casper-test', expected 'casper'");
  });

  test('block older than the default threshold (600 s): fails', async () => {
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 601) }), 'last block is 601 s old (height 5102733), more than 600 s');
  });

  test('CASPER_MAX_BLOCK_AGE_SECONDS sets the threshold (boundary passes, one second more fails)', async () => {
    respond = json(STATUS_15);
    expectPassed(await canary({ CASPER_CANARY_NOW: after(TS_15, 120), CASPER_MAX_BLOCK_AGE_SECONDS: '120' }),
      'height 3517642, era 17291, block 120 s old, 6 peers, KeepUp');
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_15, 121), CASPER_MAX_BLOCK_AGE_SECONDS: '120' }),
      'last block is 121 s old (height 3517642), more than 120 s');
  });

  test('last_added_block_info null: fails', async () => {
    respond = json(status20({ last_added_block_info: null, reactor_state: 'CatchUp' }));
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30) }), 'the node has no block yet (reactor state CatchUp)');
  });

  test('CatchUp with a fresh block: passes by default', async () => {
    respond = json(status20({ reactor_state: 'CatchUp' }));
    expectPassed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30) }), 'height 5102733, era 18214, block 30 s old, 5 peers, CatchUp');
    expectPassed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30), CASPER_FAIL_ON_CATCH_UP: 'false' }),
      'height 5102733, era 18214, block 30 s old, 5 peers, CatchUp');
  });

  test('CatchUp with a fresh block and CASPER_FAIL_ON_CATCH_UP=true: fails', async () => {
    respond = json(status20({ reactor_state: 'CatchUp' }));
    expectFailed(await canary({ CASPER_CANARY_NOW: after(TS_20, 30), CASPER_FAIL_ON_CATCH_UP: 'true' }), 'reactor state is CatchUp');
  });

  test.each([
    [{ CASPER_STATUS_URL: '' }, 'CASPER_STATUS_URL is not set'],
    [{ CASPER_STATUS_URL: 'not a url' }, "CASPER_STATUS_URL is not a valid URL: 'not a url'"],
    [{ CASPER_STATUS_URL: 'ftp://127.0.0.1/status' }, "CASPER_STATUS_URL must be http or https, got 'ftp://127.0.0.1/status'"],
    [{ CASPER_MAX_BLOCK_AGE_SECONDS: 'ten' }, "CASPER_MAX_BLOCK_AGE_SECONDS must be a number >= 0, got 'ten'"],
    [{ CASPER_REQUEST_TIMEOUT_MS: '0' }, "CASPER_REQUEST_TIMEOUT_MS must be a positive integer, got '0'"],
    [{ CASPER_FAIL_ON_CATCH_UP: 'yes' }, "CASPER_FAIL_ON_CATCH_UP must be 'true' or 'false', got 'yes'"],
    [{ CASPER_CANARY_NOW: 'tomorrow' }, "CASPER_CANARY_NOW must be an RFC 3339 time, got 'tomorrow'"],
  ])('configuration error %j: the step fails without a request', async (env, reason) => {
    const run = await canary(env);
    const message = `casper status check not run: ${reason}`;
    expect(run.threw).toBe(true);
    expect(run.error).toBe(message);
    expect(run.steps).toEqual([{ name: 'casperStatus', status: 'failed', error: message }]);
    expect(run.logs).toEqual([{ level: 'error', message }]);
    expect(requests).toHaveLength(0);
  });
});

describe('the bundle file', () => {
  test('loads without the Synthetics modules; only calling the handler needs them', async () => {
    const script = [
      'const m = require(process.argv[1]);',
      'if (typeof m.handler !== "function") { console.log("no handler"); process.exit(2); }',
      'm.handler().then(() => console.log("resolved"), (e) => console.log("rejected: " + e.code + " " + e.message.split("\\n")[0]));',
    ].join('\n');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['-e', script, BUNDLE], { env: { PATH: process.env.PATH ?? '' } }, (err, out, stderr) =>
        (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)));
    });
    expect(stdout.trim()).toBe("rejected: MODULE_NOT_FOUND Cannot find module 'Synthetics'");
  });

  test('requires only Node built-ins and the two runtime modules', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    const required = [...source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['http', 'https', 'Synthetics', 'SyntheticsLogger']));
    for (const name of required.filter((n) => !n.startsWith('Synthetics'))) {
      expect(builtinModules).toContain(name);
    }
  });
});
