// Pure judgement of one `GET :8888/status` answer of a Casper node, for the
// CloudWatch Synthetics canary (see ./handler.ts). No I/O and no clock reads:
// the caller passes the fetch result and "now".
//
// Not exported from any index.ts that jsii sees: this is bundled into the
// canary script, not part of the construct library's API.

/** What the canary checks the status answer against. */
export interface CanaryThresholds {
  /**
   * The newest block may be at most this many seconds old (`age > max` fails).
   * Must be a finite number >= 0; the handler validates its environment variable.
   */
  readonly maxBlockAgeSeconds: number;
  /** When set, `chainspec_name` must equal it (e.g. `casper` for mainnet, `casper-test` for testnet). */
  readonly expectedChainspecName?: string;
  /** When true, a node whose `reactor_state` is `CatchUp` fails even with a fresh block. Default false. */
  readonly failOnCatchUp?: boolean;
}

/** The outcome of fetching the status endpoint. */
export interface StatusFetchResult {
  /** HTTP status code, when a response arrived. */
  readonly statusCode?: number;
  /** Response body (UTF-8), when one was read. */
  readonly body?: string;
  /** Transport problem, e.g. `ECONNREFUSED` or `timeout after 10000 ms`; when set, the other fields are ignored. */
  readonly error?: string;
  /** True when the body was cut at the reader's size limit (so `body` is incomplete). */
  readonly truncated?: boolean;
}

/** The canary's judgement of one status answer. */
export interface CanaryVerdict {
  readonly passed: boolean;
  /** One line for the canary log and the thrown error. */
  readonly message: string;
  readonly height?: number;
  readonly eraId?: number;
  /** Seconds between the last block's timestamp and "now" (millisecond precision, never negative). */
  readonly blockAgeSeconds?: number;
  readonly reactorState?: string;
  readonly chainspecName?: string;
  readonly peerCount?: number;
}

/** Casper serializes timestamps as RFC 3339 (`2025-03-18T14:22:41.408Z`). `Date.parse` alone accepts too much. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Judge one answer of a Casper node's REST `/status` endpoint (casper-node 1.5 and 2.0 share the shape).
 *
 * Checks, in this order; the first that fails decides the message:
 * 1. the node answered at all (`node did not answer: <error>`);
 * 2. HTTP 200 (`HTTP <code> from the status endpoint`);
 * 3. the body was read whole, is JSON and a JSON object;
 * 4. `chainspec_name` equals `expectedChainspecName`, when that is given (a node on the wrong network);
 * 5. `last_added_block_info` is present (`the node has no block yet (reactor state <state>)`);
 * 6. its `timestamp` is a valid RFC 3339 time;
 * 7. the block age `now - timestamp` (seconds, clamped to 0 if the block is "in the future")
 *    is not more than `maxBlockAgeSeconds`;
 * 8. only with `failOnCatchUp: true`: `reactor_state` is not `CatchUp`.
 *
 * **CatchUp decision.** By default a node in `CatchUp` whose last block is fresh PASSES. The
 * canary answers "does the node answer from outside, with fresh data, on the right network";
 * a node in CatchUp whose newest block is within the age threshold is following the chain
 * (a node that is really behind has an old last block and fails check 7). Whether the node
 * is fully in sync is the job of the in-instance Synced metric and its alarm, so failing
 * here too would raise a second alarm for the same condition. `failOnCatchUp: true` is for
 * operators who want the outside check to be strict as well: it then fails with
 * `reactor state is CatchUp`. Other states (`KeepUp`, `Validate`, `Upgrading`, ...) pass
 * whenever the block is fresh.
 */
export function canaryVerdict(result: StatusFetchResult, now: Date, thresholds: CanaryThresholds): CanaryVerdict {
  const answer = jsonObjectAnswer(result, STATUS_WORDING);
  if ('failure' in answer) return fail(answer.failure);
  return statusVerdict(answer.object, now, thresholds);
}

/** How failure messages name an endpoint and its answer. */
export interface AnswerWording {
  /** What an error is prefixed with, such as `node did not answer`. */
  readonly noAnswer: string;
  /** The endpoint, as in `HTTP 500 from the <endpoint>`. */
  readonly endpoint: string;
  /** The body, as in `<body> is not valid JSON`. */
  readonly body: string;
  /** How the error of a failed exchange is shown (as it is by default). */
  readonly showError?: (error: string) => string;
}

const STATUS_WORDING: AnswerWording = { noAnswer: 'node did not answer', endpoint: 'status endpoint', body: 'status body' };

/** A JSON object read from an HTTP answer, or the one-line reason there is none. */
export type JsonObjectAnswer = { readonly object: Record<string, unknown> } | { readonly failure: string };

/**
 * The first checks every verdict makes of an HTTP exchange: an answer arrived,
 * with HTTP 200, read whole, and its body is a JSON object.
 */
export function jsonObjectAnswer(result: StatusFetchResult, wording: AnswerWording): JsonObjectAnswer {
  const showError = wording.showError ?? ((e: string) => e);
  if (result.error !== undefined) return { failure: `${wording.noAnswer}: ${showError(result.error)}` };
  if (result.statusCode === undefined) return { failure: `${wording.noAnswer}: no HTTP response` };
  if (result.statusCode !== 200) return { failure: `HTTP ${result.statusCode} from the ${wording.endpoint}` };
  if (result.truncated) return { failure: `${wording.body} is too large (cut at the read limit)` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.body ?? '');
  } catch {
    return { failure: `${wording.body} is not valid JSON` };
  }
  if (!isObject(parsed)) return { failure: `${wording.body} is not a JSON object` };
  return { object: parsed };
}

/**
 * Checks 4 to 8 of `canaryVerdict` on an already parsed status object: the fields a
 * node's REST `/status` answer and its JSON-RPC `info_get_status` result share
 * (`chainspec_name`, `last_added_block_info`, `reactor_state`, `peers`). Also used by
 * the RPC probe (../rpc-probe/verdict.ts), which unwraps the JSON-RPC answer first.
 */
export function statusVerdict(parsed: Record<string, unknown>, now: Date, thresholds: CanaryThresholds): CanaryVerdict {
  const chainspecName = typeof parsed.chainspec_name === 'string' ? parsed.chainspec_name : undefined;
  const reactorState = typeof parsed.reactor_state === 'string' ? parsed.reactor_state : undefined;
  const peerCount = countPeers(parsed.peers);
  const seen = { chainspecName, reactorState, peerCount };

  const expected = thresholds.expectedChainspecName;
  if (expected !== undefined && chainspecName !== expected) {
    const got = chainspecName === undefined ? 'missing' : `'${chainspecName}'`;
    return fail(`chainspec_name is ${got}, expected '${expected}'`, seen);
  }

  const block = parsed.last_added_block_info;
  if (!isObject(block)) return fail(`the node has no block yet (reactor state ${reactorState ?? 'unknown'})`, seen);
  const height = typeof block.height === 'number' ? block.height : undefined;
  const eraId = typeof block.era_id === 'number' ? block.era_id : undefined;
  const withBlock = { ...seen, height, eraId };

  const timestamp = block.timestamp;
  const blockMs = typeof timestamp === 'string' && RFC3339.test(timestamp) ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(blockMs)) {
    const shown = timestamp === undefined ? 'is missing' : `${JSON.stringify(timestamp)} is not a valid RFC 3339 time`;
    return fail(`last block timestamp ${shown} (height ${show(height)})`, withBlock);
  }
  const blockAgeSeconds = Math.max(0, now.getTime() - blockMs) / 1000;
  const judged = { ...withBlock, blockAgeSeconds };

  if (blockAgeSeconds > thresholds.maxBlockAgeSeconds) {
    return fail(`last block is ${seconds(blockAgeSeconds)} s old (height ${show(height)}), more than ${thresholds.maxBlockAgeSeconds} s`, judged);
  }
  if (thresholds.failOnCatchUp && reactorState === 'CatchUp') return fail('reactor state is CatchUp', judged);

  return {
    passed: true,
    message: `height ${show(height)}, era ${show(eraId)}, block ${seconds(blockAgeSeconds)} s old, ${show(peerCount)} peers, ${reactorState ?? 'unknown state'}`,
    ...judged,
  };
}

function fail(message: string, fields: Omit<CanaryVerdict, 'passed' | 'message'> = {}): CanaryVerdict {
  return { passed: false, message, ...fields };
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `peers` is an array of `{node_id, address}` in 1.5 and 2.0; older nodes served a map of id to address. */
function countPeers(peers: unknown): number | undefined {
  if (Array.isArray(peers)) return peers.length;
  if (isObject(peers)) return Object.keys(peers).length;
  return undefined;
}

function show(value: number | undefined): string {
  return value === undefined ? '?' : String(value);
}

/** Whole seconds print as `30`, fractions as `600.5` (millisecond precision at most). */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Where `runCheck` writes its one line. */
export interface CheckLog {
  info(message: string): void;
  error(message: string): void;
}

/**
 * Runs a check and reports it the way both the canary and the RPC probe do:
 * one line `<name> passed: <message>` and the verdict when it passed; one line
 * `<name> failed: <reason>` and `Error(<reason>)` when it failed; one line and
 * `Error("<name> not run: <error>")` when the check itself threw. The thrown
 * error is what the runtime counts as a failed run.
 */
export async function runCheck<V extends CanaryVerdict>(name: string, check: () => Promise<V>, log: CheckLog): Promise<V> {
  let verdict: V;
  try {
    verdict = await check();
  } catch (err) {
    const message = `${name} not run: ${(err as Error).message}`;
    log.error(message);
    throw new Error(message);
  }
  if (!verdict.passed) {
    log.error(`${name} failed: ${verdict.message}`);
    throw new Error(verdict.message);
  }
  log.info(`${name} passed: ${verdict.message}`);
  return verdict;
}
