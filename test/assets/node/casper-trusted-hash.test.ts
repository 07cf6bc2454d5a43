import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { PythonRun, STATUS_15, STATUS_20, runPython, shippedPythonScriptTests } from '../../support/node-python';
import { NODE_ASSETS } from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/casper-trusted-hash.py: the real script, run by
 * python3 against fake peers. Each peer is an HTTP server on its own loopback
 * address (127.0.0.2, 127.0.0.3, ...), all on one port, named in a temporary
 * config.toml as known_addresses with gossip port 35000. Nothing but loopback
 * addresses is ever used.
 */

const SCRIPT = path.join(NODE_ASSETS, 'casper-trusted-hash.py');

/** The 2.0 (casper-test) fixture's block, and the 1.5 (casper, mainnet) one's. */
const HASH_20 = 'e2a9c7b5d3f1a8e6c4b2d0f9a7e5c3b1d8f6a4e2c0b9d7f5a3e1c8b6d4f2a0e9';
const HEIGHT_20 = 5102733;
const HASH_15 = 'b8c4e1f09a7d3e2c6b5a4f8e7d1c0b9a3f2e6d5c4b8a7f9e0d1c2b3a4f5e6d7c';
const HEIGHT_15 = 3517642;
/** Other block hashes. */
const HASH_B = createHash('sha256').update('block b').digest('hex');
const HASH_C = createHash('sha256').update('block c').digest('hex');

/** Fake peers that answer, and addresses where nothing listens. */
const PEER_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const [P2, P3, P4, P5] = PEER_HOSTS;
const DEAD_1 = '127.0.0.9';
const DEAD_2 = '127.0.0.10';
const DEAD_3 = '127.0.0.11';

/** The 2.0 fixture with some fields changed. */
function status20(edit: (s: any) => void = () => undefined): string {
  const s = JSON.parse(STATUS_20);
  edit(s);
  return JSON.stringify(s);
}

/** A casper-test status whose last block is this hash and height. */
function block(hash: string, height = HEIGHT_20): string {
  return status20((s) => { s.last_added_block_info.hash = hash; s.last_added_block_info.height = height; });
}

type Reply = { status?: number; type?: string; body: string } | 'hang' | 'drip';

/** A fake peer: answers GET /status with its replies in turn, the last one repeated. */
class Peer {
  requests = 0;
  readonly server: http.Server;
  private replies: Reply[] = [];

  constructor(readonly host: string) {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/status') {
        res.writeHead(404).end('not found');
        return;
      }
      const reply = this.replies[Math.min(this.requests, this.replies.length - 1)] ?? { status: 404, body: 'no reply set' };
      this.requests++;
      if (reply === 'hang') return; // accepts the request, never answers
      if (reply === 'drip') { // answers, then sends its body a byte every 200 ms, forever
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(reply.status ?? 200, { 'Content-Type': reply.type ?? 'application/json' });
      res.end(reply.body);
    });
  }

  /** Sets what the next requests get, and forgets earlier requests. */
  serve(...replies: (Reply | string)[]): void {
    this.replies = replies.map((r) => (typeof r === 'string' && r !== 'hang' && r !== 'drip' ? { body: r } : r as Reply));
    this.requests = 0;
  }
}

const peers = new Map<string, Peer>(PEER_HOSTS.map((h) => [h, new Peer(h)]));
function peer(host: string): Peer {
  return peers.get(host)!;
}

/** The port every fake peer listens on. */
let port = 0;
let tmp = '';

function listen(server: http.Server, host: string, p: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-trusted-hash-'));
  // One free port for all the peers: the first gets one, the others take the same (retried if taken).
  for (let tries = 0; ; tries++) {
    const all = [...peers.values()];
    try {
      port = await listen(all[0].server, all[0].host, 0);
      for (const p of all.slice(1)) await listen(p.server, p.host, port);
      return;
    } catch (e) {
      await Promise.all(all.filter((p) => p.server.listening).map((p) => close(p.server)));
      if (tries >= 10) throw e;
    }
  }
});

afterAll(async () => {
  await Promise.all([...peers.values()].map((p) => close(p.server)));
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  for (const p of peers.values()) p.serve();
});

afterEach(() => {
  // Drops connections a hanging reply left open.
  for (const p of peers.values()) p.server.closeAllConnections();
});

let configs = 0;
/** Writes a config.toml and returns its path. */
function writeConfig(text: string): string {
  const file = path.join(tmp, `config-${++configs}.toml`);
  fs.writeFileSync(file, text);
  return file;
}

/** A config.toml like upstream's: known_addresses on one line, single quotes. */
function configFor(hosts: string[]): string {
  return writeConfig([
    '[node]',
    "sync_handling = 'ttl'",
    "#trusted_hash = 'HEX-FORMATTED BLOCK HASH'",
    '',
    '[network]',
    "public_address = '<IP ADDRESS>:0'",
    "bind_address = '0.0.0.0:35000'",
    `known_addresses = [${hosts.map((h) => `'${h}:35000'`).join(', ')}]`,
    'max_outgoing_byte_rate_non_validators = 6553600',
    '',
    '[rest_server]',
    'enable_server = true',
    "address = '0.0.0.0:8888'",
    '',
  ].join('\n'));
}

interface Run extends PythonRun {
  /** The stderr lines. */
  readonly lines: string[];
}

/** Runs the script (async: the fake peers answer from this process). */
async function runScript(args: string[]): Promise<Run> {
  const run = await runPython(SCRIPT, args, 60_000);
  return { ...run, lines: run.stderr.split('\n').filter((l) => l !== '') };
}

/** Runs the script for casper-test against these hosts (one attempt unless extra says otherwise). */
function trustedHash(hosts: string[], extra: string[] = []): Promise<Run> {
  return runScript([
    '--config', configFor(hosts), '--rest-port', String(port), '--chainspec', 'casper-test',
    '--attempts', '1', '--interval-seconds', '0', '--timeout-seconds', '3', ...extra,
  ]);
}

/** The log line of one attempt. */
function attemptLine(n: number, of: number, answers: [string, string][]): string {
  return `trusted hash: attempt ${n} of ${of}: ${answers.map(([h, a]) => `${h} ${a}`).join('; ')}`;
}

/** A peer's block, as the attempt line shows it. */
function shows(hash: string, height = HEIGHT_20): string {
  return `block ${height} ${hash}`;
}

function agreedLine(hash: string, height: number, voters: string[], of: number): string {
  return `trusted hash: ${hash} (block ${height}) agreed by ${voters.length} of ${of} peers: ${voters.join(', ')}`;
}

function failureLine(minAgree: number, attempts: number, tried: [string, string][]): string {
  return `no trusted hash agreed by at least ${minAgree} peers after ${attempts} attempt${attempts === 1 ? '' : 's'}; ` +
    `peers tried: ${tried.map(([h, r]) => `${h} (${r})`).join(', ')}`;
}

/** Each peer (host, then its replies, see Peer.serve) serves its replies; then the script asks them, in this order. */
function askServing(answers: [string, ...(Reply | string)[]][], extra: string[] = []): Promise<Run> {
  for (const [host, ...replies] of answers) peer(host).serve(...replies);
  return trustedHash(answers.map(([host]) => host), extra);
}

/** Asserts a success: the hash alone on stdout, exit 0, and these stderr lines. */
function expectHash(run: Run, hash: string, lines: string[]): void {
  expect({ status: run.status, stdout: run.stdout, lines: run.lines }).toEqual({ status: 0, stdout: `${hash}\n`, lines });
}

/** Asserts a failure: exit 1, nothing on stdout, and these stderr lines. */
function expectNoHash(run: Run, lines: string[]): void {
  expect({ status: run.status, stdout: run.stdout, lines: run.lines }).toEqual({ status: 1, stdout: '', lines });
}

describe('peers that agree', () => {
  test('all three agree: their hash, and each peer asked once', async () => {
    for (const h of [P2, P3, P4]) peer(h).serve(STATUS_20);
    const run = await trustedHash([P2, P3, P4]);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, shows(HASH_20)], [P4, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3, P4], 3),
    ]);
    expect([P2, P3, P4].map((h) => peer(h).requests)).toEqual([1, 1, 1]);
  });

  test('two of three agree, the third reports another block: the agreed hash', async () => {
    const run = await askServing([[P2, STATUS_20], [P3, block(HASH_B, HEIGHT_20 + 1)], [P4, STATUS_20]]);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, shows(HASH_B, HEIGHT_20 + 1)], [P4, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P4], 3),
    ]);
  });

  test('votes count the lowercased hash: a mixed-case hash from two peers is printed lowercase', async () => {
    const mixed = HASH_20.slice(0, 32).toUpperCase() + HASH_20.slice(32);
    const run = await askServing([[P2, block(mixed)], [P3, block(HASH_20.toUpperCase())], [P4, block(HASH_C)]]);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, shows(HASH_20)], [P4, shows(HASH_C)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3], 3),
    ]);
    expect(run.stderr).not.toMatch(/[A-F]{8}/);
  });

  test('two hashes with two votes each: the one of the higher block wins', async () => {
    const run = await askServing([
      [P2, block(HASH_B, HEIGHT_20)], [P3, block(HASH_C, HEIGHT_20 + 1)], [P4, block(HASH_B, HEIGHT_20)], [P5, block(HASH_C, HEIGHT_20 + 1)],
    ]);
    expectHash(run, HASH_C, [
      attemptLine(1, 1, [
        [P2, shows(HASH_B)], [P3, shows(HASH_C, HEIGHT_20 + 1)], [P4, shows(HASH_B)], [P5, shows(HASH_C, HEIGHT_20 + 1)],
      ]),
      agreedLine(HASH_C, HEIGHT_20 + 1, [P3, P5], 4),
    ]);
  });

  test('the higher block wins whatever order the peers are listed in', async () => {
    peer(P2).serve(block(HASH_C, HEIGHT_20 + 1));
    peer(P3).serve(block(HASH_B, HEIGHT_20));
    peer(P4).serve(block(HASH_C, HEIGHT_20 + 1));
    peer(P5).serve(block(HASH_B, HEIGHT_20));
    const run = await trustedHash([P5, P4, P3, P2]);
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: `${HASH_C}\n` });
    expect(run.lines[1]).toBe(agreedLine(HASH_C, HEIGHT_20 + 1, [P4, P2], 4));
  });

  test('--min-agree 3 needs three votes; --min-agree 1 takes a single peer', async () => {
    const three = await askServing([[P2, STATUS_20], [P3, STATUS_20], [P4, block(HASH_B, HEIGHT_20 + 5)]], ['--min-agree', '3']);
    expect(three.status).toBe(1);
    expect(three.lines.at(-1)).toBe(failureLine(3, 1, [
      [P2, `hash ${HASH_20}, height ${HEIGHT_20}`], [P3, `hash ${HASH_20}, height ${HEIGHT_20}`],
      [P4, `hash ${HASH_B}, height ${HEIGHT_20 + 5}`],
    ]));
    // With one vote enough, the highest block wins.
    const one = await trustedHash([P2, P3, P4], ['--min-agree', '1']);
    expectHash(one, HASH_B, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, shows(HASH_20)], [P4, shows(HASH_B, HEIGHT_20 + 5)]]),
      `trusted hash: ${HASH_B} (block ${HEIGHT_20 + 5}) agreed by 1 of 3 peers: ${P4}`,
    ]);
  });
});

describe('peers that do not count', () => {
  test('a peer on another chainspec is not counted; the other two agree', async () => {
    const run = await askServing([[P2, STATUS_15], [P3, STATUS_20], [P4, STATUS_20]]);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, "wrong chainspec 'casper'"], [P3, shows(HASH_20)], [P4, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P3, P4], 3),
    ]);
  });

  test('a peer on another chainspec reporting the same hash does not make agreement', async () => {
    const run = await askServing([[P2, status20((s) => { s.chainspec_name = 'casper'; })], [P3, STATUS_20], [P4, block(HASH_B)]]);
    expectNoHash(run, [
      attemptLine(1, 1, [[P2, "wrong chainspec 'casper'"], [P3, shows(HASH_20)], [P4, shows(HASH_B)]]),
      failureLine(2, 1, [
        [P2, "wrong chainspec 'casper'"], [P3, `hash ${HASH_20}, height ${HEIGHT_20}`], [P4, `hash ${HASH_B}, height ${HEIGHT_20}`],
      ]),
    ]);
  });

  test('mainnet peers for a casper chainspec: the 1.5 fixture agreed', async () => {
    const run = await askServing([[P2, STATUS_15], [P3, STATUS_15]], ['--chainspec', 'casper']);
    expectHash(run, HASH_15, [
      attemptLine(1, 1, [[P2, shows(HASH_15, HEIGHT_15)], [P3, shows(HASH_15, HEIGHT_15)]]),
      agreedLine(HASH_15, HEIGHT_15, [P2, P3], 2),
    ]);
  });

  test('an unreachable peer is not needed when the other two agree', async () => {
    peer(P2).serve(STATUS_20);
    peer(P3).serve(STATUS_20);
    const run = await trustedHash([DEAD_1, P2, P3]);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[DEAD_1, 'unreachable (connection refused)'], [P2, shows(HASH_20)], [P3, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3], 3),
    ]);
  });

  test('every peer unreachable: exit 1 after every attempt', async () => {
    const run = await trustedHash([DEAD_1, DEAD_2, DEAD_3], ['--attempts', '2']);
    const refused: [string, string][] = [DEAD_1, DEAD_2, DEAD_3].map((h) => [h, 'unreachable (connection refused)']);
    expectNoHash(run, [
      attemptLine(1, 2, refused),
      'trusted hash: no hash agreed by at least 2 peers yet; next attempt in 0 s',
      attemptLine(2, 2, refused),
      failureLine(2, 2, [DEAD_1, DEAD_2, DEAD_3].map((h) => [h, 'unreachable: connection refused'])),
    ]);
  });

  test('a peer answering an HTML page is counted as not JSON', async () => {
    const run = await askServing([[P2, STATUS_20], [P3, { type: 'text/html; charset=utf-8', body: '<html><body><h1>Welcome to nginx!</h1></body></html>' }], [P4, block(HASH_B)]]);
    expectNoHash(run, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, 'not JSON (HTTP 200 text/html)'], [P4, shows(HASH_B)]]),
      failureLine(2, 1, [
        [P2, `hash ${HASH_20}, height ${HEIGHT_20}`], [P3, 'not JSON: HTTP 200 text/html'], [P4, `hash ${HASH_B}, height ${HEIGHT_20}`],
      ]),
    ]);
  });

  test('every other kind of answer that does not count, with its reason', async () => {
    const run = await askServing([[P2, { status: 500, type: 'text/plain', body: 'Internal Server Error' }], [P3, status20((s) => { s.last_added_block_info = null; })], [P4, block('not-a-hash')], [P5, '[1, 2]']]);
    expectNoHash(run, [
      attemptLine(1, 1, [
        [P2, 'HTTP 500'], [P3, 'no last_added_block_info'], [P4, "bad block hash ('not-a-hash')"], [P5, 'not a JSON object (array)'],
      ]),
      failureLine(2, 1, [
        [P2, 'HTTP 500'], [P3, 'no last_added_block_info'], [P4, "bad block hash: 'not-a-hash'"], [P5, 'not a JSON object: array'],
      ]),
    ]);
  });

  test('a status without chainspec_name, a hash of 63 digits and a block that is not an object do not count', async () => {
    const run = await askServing([[P2, status20((s) => { delete s.chainspec_name; })], [P3, block(HASH_20.slice(1))], [P4, status20((s) => { s.last_added_block_info = 'pending'; })]]);
    expect(run.status).toBe(1);
    expect(run.lines.at(-1)).toBe(failureLine(2, 1, [
      [P2, 'no chainspec_name'], [P3, `bad block hash: '${HASH_20.slice(1, 39)}…`], [P4, 'bad last_added_block_info: string'],
    ]));
  });

  test('a peer that accepts and never answers is bounded by --timeout-seconds and reported as a timeout', async () => {
    const run = await askServing([[P2, 'hang'], [P3, STATUS_20], [P4, block(HASH_B)]], ['--timeout-seconds', '1', '--attempts', '2']);
    const answers: [string, string][] = [[P2, 'timeout after 1 s'], [P3, shows(HASH_20)], [P4, shows(HASH_B)]];
    expectNoHash(run, [
      attemptLine(1, 2, answers),
      'trusted hash: no hash agreed by at least 2 peers yet; next attempt in 0 s',
      attemptLine(2, 2, answers),
      failureLine(2, 2, [
        [P2, 'timeout after 1 s'], [P3, `hash ${HASH_20}, height ${HEIGHT_20}`], [P4, `hash ${HASH_B}, height ${HEIGHT_20}`],
      ]),
    ]);
    expect(peer(P2).requests).toBe(2);
    // Two attempts of about 1 s each, plus the interpreter's start.
    expect(run.ms).toBeLessThan(8_000);
  });
});

describe('slow and large answers', () => {
  test('a peer that keeps sending a byte at a time is cut off after --timeout-seconds too', async () => {
    const run = await askServing([[P2, 'drip'], [P3, STATUS_20], [P4, STATUS_20]], ['--timeout-seconds', '1']);
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, 'timeout after 1 s'], [P3, shows(HASH_20)], [P4, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P3, P4], 3),
    ]);
    expect(run.ms).toBeLessThan(6_000);
  });

  test('a body over 1 MiB is not read further', async () => {
    const run = await askServing([[P2, status20((s) => { s.padding = 'x'.repeat(1024 * 1024); })], [P3, STATUS_20], [P4, block(HASH_B)]]);
    expect(run.status).toBe(1);
    expect(run.lines[0]).toBe(attemptLine(1, 1, [[P2, 'body over 1 MiB'], [P3, shows(HASH_20)], [P4, shows(HASH_B)]]));
  });
});

describe('retries', () => {
  test('all disagree: exit 1 after --attempts attempts, the last line naming every peer with its hash', async () => {
    const run = await askServing([[P2, block(HASH_20, 100)], [P3, block(HASH_B, 101)], [P4, block(HASH_C, 102)]], ['--attempts', '3', '--interval-seconds', '0.1']);
    const answers: [string, string][] = [[P2, shows(HASH_20, 100)], [P3, shows(HASH_B, 101)], [P4, shows(HASH_C, 102)]];
    const waiting = 'trusted hash: no hash agreed by at least 2 peers yet; next attempt in 0.1 s';
    expectNoHash(run, [
      attemptLine(1, 3, answers), waiting,
      attemptLine(2, 3, answers), waiting,
      attemptLine(3, 3, answers),
      failureLine(2, 3, [[P2, `hash ${HASH_20}, height 100`], [P3, `hash ${HASH_B}, height 101`], [P4, `hash ${HASH_C}, height 102`]]),
    ]);
    expect([P2, P3, P4].map((h) => peer(h).requests)).toEqual([3, 3, 3]);
  });

  test('disagreement on the first attempt, agreement on the second: the hash, and no third attempt', async () => {
    const run = await askServing([[P2, block(HASH_20)], [P3, '<html>starting</html>', block(HASH_20)], [P4, block(HASH_B)]], ['--attempts', '5']);
    expectHash(run, HASH_20, [
      attemptLine(1, 5, [[P2, shows(HASH_20)], [P3, 'not JSON (HTTP 200 application/json)'], [P4, shows(HASH_B)]]),
      'trusted hash: no hash agreed by at least 2 peers yet; next attempt in 0 s',
      attemptLine(2, 5, [[P2, shows(HASH_20)], [P3, shows(HASH_20)], [P4, shows(HASH_B)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3], 3),
    ]);
    expect([P2, P3, P4].map((h) => peer(h).requests)).toEqual([2, 2, 2]);
  });

  test('the final line gives each peer\'s last answer', async () => {
    const run = await askServing([[P2, STATUS_20, { status: 503, body: 'busy' }], [P3, block(HASH_B)]], ['--attempts', '2']);
    expect(run.status).toBe(1);
    expect(run.lines.at(-1)).toBe(failureLine(2, 2, [[P2, 'HTTP 503'], [P3, `hash ${HASH_B}, height ${HEIGHT_20}`]]));
  });
});

describe('config.toml', () => {
  /** Runs the script with this config text, the peers on P2 and P3 agreeing. */
  async function withConfig(text: string): Promise<Run> {
    peer(P2).serve(STATUS_20);
    peer(P3).serve(STATUS_20);
    return runScript([
      '--config', writeConfig(text), '--rest-port', String(port), '--chainspec', 'casper-test', '--attempts', '1',
    ]);
  }

  test('an array over several lines with comments, double quotes, a trailing comma and duplicates', async () => {
    const run = await withConfig([
      '[network]',
      "# known_addresses = ['127.0.0.5:35000']",
      'odd = { names = ["x]", \'y\'], n = 1 }',
      'known_addresses = [ # the peers',
      `  "${P2}:35000",  # first`,
      `  # '${P4}:35000',`,
      `  '${P3}:35000',`,
      `  "${P2}:35001",`,
      ']',
      "bind_address = '0.0.0.0:35000'",
      '',
      '[network.estimator_weights]',
      `known_addresses = ['${P5}:35000']`,
      '',
    ].join('\n'));
    expectHash(run, HASH_20, [
      attemptLine(1, 1, [[P2, shows(HASH_20)], [P3, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3], 2),
    ]);
    expect([P4, P5].map((h) => peer(h).requests)).toEqual([0, 0]);
  });

  test('known_addresses of [network] after the same key in another section, and text that only looks like a header', async () => {
    const run = await withConfig([
      '[node]',
      `known_addresses = ['${P4}:35000']`,
      'notes = """',
      '[network]',
      `known_addresses = ['${P5}:35000']`,
      '"""',
      '',
      '[ network ]   # spaces are allowed',
      `known_addresses=['${P2}:35000','${P3}:35000']`,
    ].join('\n'));
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: `${HASH_20}\n` });
    expect([P2, P3, P4, P5].map((h) => peer(h).requests)).toEqual([1, 1, 0, 0]);
  });

  test('known_addresses only in another section: exit 2, no peer asked', async () => {
    const file = writeConfig(`[node]\nknown_addresses = ['${P2}:35000', '${P3}:35000']\n\n[network]\nbind_address = '0.0.0.0:35000'\n`);
    const run = await runScript(['--config', file, '--rest-port', String(port), '--chainspec', 'casper-test']);
    expect({ status: run.status, stdout: run.stdout, lines: run.lines })
      .toEqual({ status: 2, stdout: '', lines: [`casper-trusted-hash: ${file}: no known_addresses in [network]`] });
    expect([P2, P3].map((h) => peer(h).requests)).toEqual([0, 0]);
  });

  test('a commented-out known_addresses does not count: exit 2', async () => {
    const file = writeConfig(`[network]\n#known_addresses = ['${P2}:35000', '${P3}:35000']\n`);
    const run = await runScript(['--config', file, '--rest-port', String(port), '--chainspec', 'casper-test']);
    expect({ status: run.status, stdout: run.stdout, lines: run.lines })
      .toEqual({ status: 2, stdout: '', lines: [`casper-trusted-hash: ${file}: no known_addresses in [network]`] });
  });

  test('a missing config: exit 2 naming it', async () => {
    const file = path.join(tmp, 'nope.toml');
    const run = await runScript(['--config', file, '--rest-port', String(port), '--chainspec', 'casper-test']);
    expect({ status: run.status, stdout: run.stdout, lines: run.lines })
      .toEqual({ status: 2, stdout: '', lines: [`casper-trusted-hash: ${file}: cannot read: No such file or directory`] });
  });

  test.each([
    ['an empty array', 'known_addresses = []', 'known_addresses in [network] is empty'],
    ['an entry without a port', "known_addresses = ['127.0.0.2']", "known_addresses entry '127.0.0.2' is not host:port"],
    ['a value that is not an array of strings', 'known_addresses = [1, 2]', 'line 2: known_addresses is not an array of strings'],
    ['an unterminated array', "known_addresses = ['127.0.0.2:35000',", 'cannot read known_addresses: line 2: unterminated array'],
    ['the key twice', "known_addresses = ['127.0.0.2:35000']\nknown_addresses = ['127.0.0.3:35000']",
      'line 3: known_addresses is set twice in [network]'],
  ])('%s: exit 2', async (_, line, message) => {
    const file = writeConfig(`[network]\n${line}\n`);
    const run = await runScript(['--config', file, '--rest-port', String(port), '--chainspec', 'casper-test']);
    expect({ status: run.status, stdout: run.stdout, lines: run.lines })
      .toEqual({ status: 2, stdout: '', lines: [`casper-trusted-hash: ${file}: ${message}`] });
  });

  test('fewer hosts than --min-agree: exit 2 without asking', async () => {
    const run = await trustedHash([P2, P2], ['--min-agree', '2']);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/: --min-agree 2 but known_addresses has only 1 host\n$/);
    expect(peer(P2).requests).toBe(0);
  });
});

describe('options', () => {
  test.each([
    ['--min-agree', '0', 'expected an integer of at least 1'],
    ['--attempts', '0', 'expected an integer of at least 1'],
    ['--attempts', 'many', 'expected an integer of at least 1'],
    ['--rest-port', '0', 'expected an integer from 1 to 65535'],
    ['--rest-port', '65536', 'expected an integer from 1 to 65535'],
    ['--timeout-seconds', '0', 'expected a positive number of seconds'],
    ['--interval-seconds', '-1', 'expected a non-negative number of seconds'],
    ['--chainspec', ' ', '--chainspec must not be empty'],
  ])('%s %s: exit 2', async (option, value, message) => {
    const args = ['--config', configFor([P2, P3]), '--rest-port', String(port), '--chainspec', 'casper-test'];
    const at = args.indexOf(option);
    if (at >= 0) args[at + 1] = value; else args.push(option, value);
    const run = await runScript(args);
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 2, stdout: '' });
    expect(run.stderr).toContain(message);
    expect(peer(P2).requests).toBe(0);
  });

  test.each(['--config', '--rest-port', '--chainspec'])('a missing %s: exit 2', async (option) => {
    const args = ['--config', configFor([P2, P3]), '--rest-port', String(port), '--chainspec', 'casper-test'];
    args.splice(args.indexOf(option), 2);
    const run = await runScript(args);
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 2, stdout: '' });
    expect(run.stderr).toContain(`the following arguments are required: ${option}`);
  });

  test('the defaults: two peers must agree, 5 s per request', async () => {
    peer(P2).serve(STATUS_20);
    peer(P3).serve(STATUS_20);
    const run = await runScript(['--config', configFor([P2, P3]), '--rest-port', String(port), '--chainspec', 'casper-test']);
    expectHash(run, HASH_20, [
      attemptLine(1, 5, [[P2, shows(HASH_20)], [P3, shows(HASH_20)]]),
      agreedLine(HASH_20, HEIGHT_20, [P2, P3], 2),
    ]);
  });
});

describe('the script', () => {
  /** The standard-library modules the script may import (Python 3.10). */
  const ALLOWED = ['argparse', 'http.client', 'json', 're', 'socket', 'sys', 'threading', 'time'];

  shippedPythonScriptTests(SCRIPT, ALLOWED, [/__import__|importlib|ExceptionGroup/],
    'imports only allowed standard-library modules and uses no Python 3.11+ feature');
});
