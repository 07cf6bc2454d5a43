/**
 * Reading the configuration of the canary script and the RPC probe from their
 * environment; both fail a run with the message these throw.
 */

/**
 * The http:// or https:// URL in the environment variable `name`; throws
 * `<name> is not set`, `<name> is not a valid URL: '<value>'` or
 * `<name> must be http or https, got '<value>'`.
 */
export function httpUrlFromEnv(env: NodeJS.ProcessEnv, name: string): URL {
  const raw = env[name];
  if (!raw) throw new Error(`${name} is not set`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} is not a valid URL: '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be http or https, got '${raw}'`);
  return url;
}

/** What `numberFromEnv` accepts, and how its error says so. */
export interface NumberRule {
  readonly valid: (n: number) => boolean;
  readonly what: string;
}

export const POSITIVE_INTEGER: NumberRule = { valid: (n) => Number.isSafeInteger(n) && n > 0, what: 'a positive integer' };
export const NON_NEGATIVE_NUMBER: NumberRule = { valid: (n) => Number.isFinite(n) && n >= 0, what: 'a number >= 0' };

/**
 * The number in the environment variable `name`, or `fallback` when it is unset or blank;
 * throws `<name> is not set` when there is no fallback, and
 * `<name> must be <rule.what>, got '<value>'` when the rule refuses it.
 */
export function numberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, rule: NumberRule): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  const value = Number(raw);
  if (!rule.valid(value)) throw new Error(`${name} must be ${rule.what}, got '${raw}'`);
  return value;
}
