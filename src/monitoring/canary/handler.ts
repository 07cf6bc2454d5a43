// CloudWatch Synthetics canary (runtime syn-nodejs-puppeteer-13.0, Node.js 22) that
// checks a Casper node's REST status endpoint from outside: `GET http://<ip>:8888/status`.
// Bundled by `projen bundle:canary` (esbuild) into
// assets/canary/nodejs/node_modules/casper-canary.js, handler `casper-canary.handler`.
// The judgement is in ./verdict.ts; this file only reads the configuration, fetches and logs.
//
// Not exported from any index.ts that jsii sees: this is the canary script, not library API.
import { httpUrlFromEnv, NON_NEGATIVE_NUMBER, numberFromEnv, POSITIVE_INTEGER } from './env';
import { httpExchange } from './http-exchange';
import { canaryVerdict, CanaryThresholds, CanaryVerdict, runCheck, StatusFetchResult } from './verdict';

/** The bits of the runtime's `Synthetics` module the script uses (no type package exists). */
interface SyntheticsModule {
  executeStep<T>(stepName: string, functionToExecute: () => Promise<T>): Promise<T>;
}

/** The bits of the runtime's `SyntheticsLogger` module the script uses. */
interface SyntheticsLoggerModule {
  info(...message: unknown[]): void;
  error(...message: unknown[]): void;
}

/** The name of the step in the canary report. */
export const STEP_NAME = 'casperStatus';
/** The body is read up to this many bytes; a real status answer is a few KiB. */
export { MAX_BODY_BYTES } from './http-exchange';
const DEFAULT_MAX_BLOCK_AGE_SECONDS = 600;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The canary's settings, read from its environment variables. */
export interface CanaryConfig {
  readonly statusUrl: URL;
  readonly timeoutMs: number;
  readonly thresholds: CanaryThresholds;
  /** Fixed "now" from `CASPER_CANARY_NOW`, if set; otherwise the clock is read after the fetch. */
  readonly now?: Date;
}

/**
 * Read the configuration:
 * - `CASPER_STATUS_URL` (required), e.g. `http://203.0.113.10:8888/status`; http or https;
 * - `CASPER_MAX_BLOCK_AGE_SECONDS` (default 600);
 * - `CASPER_EXPECTED_CHAINSPEC` (optional; empty means "do not check");
 * - `CASPER_REQUEST_TIMEOUT_MS` (default 10000), covering connect, headers and body;
 * - `CASPER_FAIL_ON_CATCH_UP` (`true` / `false`, default false; see `canaryVerdict`);
 * - `CASPER_CANARY_NOW` (optional, RFC 3339): the "now" the block age is measured against.
 *   Only for tests of the bundled script (the fixtures' blocks are from 2025); the canary
 *   construct does not set it, and then the clock is read.
 *
 * Throws on a missing or invalid value: the canary run fails with that message.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): CanaryConfig {
  const statusUrl = httpUrlFromEnv(env, 'CASPER_STATUS_URL');

  const maxBlockAgeSeconds = numberFromEnv(env, 'CASPER_MAX_BLOCK_AGE_SECONDS', DEFAULT_MAX_BLOCK_AGE_SECONDS, NON_NEGATIVE_NUMBER);
  const timeoutMs = numberFromEnv(env, 'CASPER_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, POSITIVE_INTEGER);

  const rawFail = env.CASPER_FAIL_ON_CATCH_UP;
  if (rawFail !== undefined && rawFail !== '' && rawFail !== 'true' && rawFail !== 'false') {
    throw new Error(`CASPER_FAIL_ON_CATCH_UP must be 'true' or 'false', got '${rawFail}'`);
  }

  let now: Date | undefined;
  const rawNow = env.CASPER_CANARY_NOW;
  if (rawNow) {
    now = new Date(rawNow);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(rawNow) || Number.isNaN(now.getTime())) {
      throw new Error(`CASPER_CANARY_NOW must be an RFC 3339 time, got '${rawNow}'`);
    }
  }

  return {
    statusUrl,
    timeoutMs,
    thresholds: {
      maxBlockAgeSeconds,
      expectedChainspecName: env.CASPER_EXPECTED_CHAINSPEC || undefined,
      failOnCatchUp: rawFail === 'true',
    },
    now,
  };
}

/**
 * `GET` the URL once (see `httpExchange`). Never rejects: transport problems come back as `error`
 * (the error code such as `ECONNREFUSED` when Node gives one, else its message;
 * `timeout after <ms> ms` when the whole exchange takes longer than `timeoutMs`).
 * The body is read up to `MAX_BODY_BYTES`; a longer one is cut and flagged `truncated`.
 */
export function fetchStatus(url: URL, timeoutMs: number): Promise<StatusFetchResult> {
  return httpExchange(url, timeoutMs, { headers: { 'Accept': 'application/json', 'User-Agent': 'cdk-casper-node-canary' } });
}

/**
 * One check without the Synthetics runtime: read the configuration from `env`, fetch the
 * status, judge it. Resolves with the verdict (failed or not); rejects only on a
 * configuration error. "now" is `now` if given, else `CASPER_CANARY_NOW`, else the clock
 * read after the answer arrived.
 */
export async function checkStatus(env: NodeJS.ProcessEnv, now?: Date): Promise<CanaryVerdict> {
  const config = configFromEnv(env);
  const result = await fetchStatus(config.statusUrl, config.timeoutMs);
  return canaryVerdict(result, now ?? config.now ?? new Date(), config.thresholds);
}

/**
 * The canary entry point (`casper-canary.handler`). Runs the check as the step
 * `casperStatus`, logs the verdict, and throws `Error(verdict.message)` when it failed,
 * which makes Synthetics mark the step and the run as failed.
 */
export async function handler(): Promise<CanaryVerdict> {
  // The runtime modules exist only inside the Synthetics runtime (esbuild keeps them
  // external): load them here, so that loading the bundle elsewhere does not fail.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const synthetics = require('Synthetics') as SyntheticsModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const log = require('SyntheticsLogger') as SyntheticsLoggerModule;

  return synthetics.executeStep(STEP_NAME, () => runCheck('casper status check', () => checkStatus(process.env), log));
}
