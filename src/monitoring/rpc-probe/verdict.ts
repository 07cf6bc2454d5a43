// Pure judgement of one JSON-RPC `info_get_status` answer of a Casper node (through a
// load balancer), for the RPC probe Lambda (../casper-rpc-probe.lambda.ts). No I/O and
// no clock reads: the caller passes the fetch result and "now".
//
// Not exported from any index.ts that jsii sees: this is bundled into the probe's
// handler, not part of the construct library's API.
import { AnswerWording, CanaryVerdict, StatusFetchResult, isObject, jsonObjectAnswer, statusVerdict } from '../canary/verdict';

/** The request the probe sends; its `id` is checked in the answer. */
export const INFO_GET_STATUS = { jsonrpc: '2.0', id: 1, method: 'info_get_status', params: [] } as const;

/** What the probe checks the answer against. */
export interface RpcProbeExpectations {
  /** `chainspec_name` must equal it (`casper` for mainnet, `casper-test` for testnet). */
  readonly expectedChainspecName: string;
  /** The newest block may be at most this many seconds old (`age > max` fails). */
  readonly maxBlockAgeSeconds: number;
}

/** The probe's judgement of one answer: the canary's fields, plus the node's RPC API version. */
export interface RpcProbeVerdict extends CanaryVerdict {
  /** `api_version` of the result, when it has one. */
  readonly apiVersion?: string;
}

/** Longest JSON-RPC error message quoted in a verdict; the rest is cut with `...`. */
const MAX_QUOTED = 200;

/**
 * Judge one answer to `POST <rpc url>` with `INFO_GET_STATUS`.
 *
 * Checks, in this order; the first that fails decides the message (one line):
 * 1. an answer arrived (`no answer: <error>`, such as `ECONNREFUSED` or `timeout after 5000 ms`);
 * 2. HTTP 200 (`HTTP <code> from the RPC endpoint`);
 * 3. the body was read whole, is JSON, a JSON object, with `"jsonrpc": "2.0"`;
 * 4. no JSON-RPC `error` object (`JSON-RPC error <code>: <message>`);
 * 5. `id` is the request's (1);
 * 6. a `result` object is present;
 * 7. the result, which has the fields of the REST `/status` answer plus `api_version`, passes
 *    the canary's status checks (`statusVerdict`): `chainspec_name` equals the expected one,
 *    a last block exists, its `timestamp` is RFC 3339, and it is at most `maxBlockAgeSeconds`
 *    old. The reactor state is not judged (a node whose newest block is fresh is following
 *    the chain; see `canaryVerdict`).
 */
export function rpcProbeVerdict(answer: StatusFetchResult, now: Date, expected: RpcProbeExpectations): RpcProbeVerdict {
  const json = jsonObjectAnswer(answer, RPC_WORDING);
  if ('failure' in json) return fail(json.failure);
  const parsed = json.object;
  if (parsed.jsonrpc !== '2.0') return fail(`not a JSON-RPC 2.0 answer (jsonrpc is ${show(parsed.jsonrpc)})`);

  if (parsed.error !== undefined && parsed.error !== null) {
    const e = isObject(parsed.error) ? parsed.error : {};
    const code = typeof e.code === 'number' ? ` ${e.code}` : '';
    const message = typeof e.message === 'string' ? `: ${quote(e.message)}` : '';
    return fail(`JSON-RPC error${code}${message}`);
  }
  if (parsed.id !== INFO_GET_STATUS.id) return fail(`answer id is ${show(parsed.id)}, expected ${INFO_GET_STATUS.id}`);
  if (!isObject(parsed.result)) return fail(`JSON-RPC answer has no result object (result is ${show(parsed.result)})`);

  const result = parsed.result;
  const apiVersion = typeof result.api_version === 'string' ? result.api_version : undefined;
  const verdict = statusVerdict(result, now, {
    expectedChainspecName: expected.expectedChainspecName,
    maxBlockAgeSeconds: expected.maxBlockAgeSeconds,
  });
  return { ...verdict, apiVersion };
}

const RPC_WORDING: AnswerWording = { noAnswer: 'no answer', endpoint: 'RPC endpoint', body: 'RPC answer', showError: oneLine };

function fail(message: string): RpcProbeVerdict {
  return { passed: false, message };
}

/** A value as a message shows it: JSON, short, on one line; `missing` for undefined. */
function show(value: unknown): string {
  return value === undefined ? 'missing' : quote(JSON.stringify(value));
}

function quote(text: string): string {
  const line = oneLine(text);
  return line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED)}...` : line;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
