// Lambda entry point of CasperRpcProbe: bundled by projen (esbuild, Node.js 22). Runs in
// the fleet's VPC on a schedule, asks the load balancer's JSON-RPC endpoint for
// `info_get_status` and throws unless the answer is on the expected chainspec with a fresh
// block: the failure is counted in the function's AWS/Lambda `Errors` metric, which the
// Lambda service publishes (the function calls no AWS API; its logs, too, are delivered by
// the service). The judgement is in ./rpc-probe/verdict.ts; this file reads the
// configuration, posts the request and logs one line.
import { httpUrlFromEnv, NON_NEGATIVE_NUMBER, numberFromEnv, POSITIVE_INTEGER } from './canary/env';
import { httpExchange } from './canary/http-exchange';
import { runCheck, StatusFetchResult } from './canary/verdict';
import { INFO_GET_STATUS, rpcProbeVerdict, RpcProbeExpectations, RpcProbeVerdict } from './rpc-probe/verdict';

const DEFAULT_TIMEOUT_MS = 5000;

/** The probe's settings, read from its environment variables. */
export interface RpcProbeConfig extends RpcProbeExpectations {
  readonly rpcUrl: URL;
  readonly timeoutMs: number;
}

/**
 * Read the configuration:
 * - `RPC_URL` (required), such as `http://internal-fleet-123.elb.us-east-1.amazonaws.com:7777/rpc`; http or https;
 * - `EXPECTED_CHAINSPEC` (required), such as `casper-test`;
 * - `MAX_BLOCK_AGE_SECONDS` (required), a number >= 0;
 * - `REQUEST_TIMEOUT_MS` (default 5000), covering connect, headers and body.
 *
 * Throws on a missing or invalid value: the run fails with that message.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): RpcProbeConfig {
  const rpcUrl = httpUrlFromEnv(env, 'RPC_URL');
  const expectedChainspecName = env.EXPECTED_CHAINSPEC;
  if (!expectedChainspecName) throw new Error('EXPECTED_CHAINSPEC is not set');
  const maxBlockAgeSeconds = numberFromEnv(env, 'MAX_BLOCK_AGE_SECONDS', undefined, NON_NEGATIVE_NUMBER);
  const timeoutMs = numberFromEnv(env, 'REQUEST_TIMEOUT_MS', DEFAULT_TIMEOUT_MS, POSITIVE_INTEGER);
  return { rpcUrl, expectedChainspecName, maxBlockAgeSeconds, timeoutMs };
}

/**
 * `POST` the `info_get_status` request once, on a fresh connection (`httpExchange`). Never
 * rejects: transport problems come back as `error` (`timeout after <ms> ms` when connecting,
 * the headers and the body together take longer than `timeoutMs`; otherwise the error code,
 * such as `ECONNREFUSED`). The body is read up to 1 MiB; a longer one is cut and flagged `truncated`.
 */
export function postInfoGetStatus(url: URL, timeoutMs: number): Promise<StatusFetchResult> {
  return httpExchange(url, timeoutMs, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'User-Agent': 'cdk-casper-node-rpc-probe' },
    body: JSON.stringify(INFO_GET_STATUS),
  });
}

/**
 * One check: read the configuration from `env`, post the request, judge the answer.
 * Resolves with the verdict (failed or not); rejects only on a configuration error.
 * "now" is `now` if given, else the clock read after the answer arrived.
 */
export async function checkRpc(env: NodeJS.ProcessEnv, now?: Date): Promise<RpcProbeVerdict> {
  const config = configFromEnv(env);
  const answer = await postInfoGetStatus(config.rpcUrl, config.timeoutMs);
  return rpcProbeVerdict(answer, now ?? new Date(), config);
}

/**
 * The Lambda entry point (`index.handler`). Logs one line and returns the verdict when the
 * check passed; logs one line and throws `Error(<reason>)` when it failed or could not run,
 * which the Lambda service counts in the function's `Errors` metric.
 */
export async function handler(): Promise<RpcProbeVerdict> {
  return runCheck('casper RPC probe', () => checkRpc(process.env), { info: (line) => console.log(line), error: (line) => console.error(line) });
}
