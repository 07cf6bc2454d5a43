import { IConstruct } from 'constructs';

/**
 * Synth-time input validation shared by the constructs.
 *
 * Every error names the construct, the prop, the value given and what is
 * allowed, and is thrown before the construct creates any child, so a bad
 * input never leaves a half-built template behind.
 */

/**
 * A value shown in an error message as it is written here, not JSON-quoted:
 * for values that are not plain data, such as an `SshAccess`, shown the way
 * the user wrote it (`SshAccess.fromCidrs(["203.0.113.0/24"])`).
 */
export class ShownAs {
  constructor(public readonly text: string) {}
}

/** A value as an error message shows it: JSON for plain data, the keys of anything JSON cannot show. */
export function showValue(value: unknown): string {
  if (value instanceof ShownAs) return value.text;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // A construct or another cyclic object: name its keys instead.
  }
  return value !== null && typeof value === 'object' ? `{ ${Object.keys(value).join(', ')} }` : String(value);
}

/**
 * Who an error is about: the construct's class and where it stands in the app,
 * so two nodes of one app give errors that tell them apart.
 */
export interface ValidationOwner {
  /** The class (or factory) whose input is invalid, such as `CasperReadOnlyNode`. */
  readonly name: string;
  /** The construct path, such as `MyStack/Node`; absent for factories that have no scope. */
  readonly path?: string;
}

/** The owner of an error raised by the construct `scope` of class `name`. */
export function ownerOf(scope: IConstruct, name: string): ValidationOwner {
  return { name, path: scope.node.path };
}

/** Either an owner with its path, or just a name (factories without a scope, such as `CasperNetwork.custom`). */
export type Owner = string | ValidationOwner;

/**
 * Thrown for invalid construct props. The message reads
 * `<Class>: invalid <prop> <value>: <what is allowed> (construct <path>)`.
 */
export class CasperValidationError extends Error {
  constructor(owner: Owner, prop: string, value: unknown, allowed: string) {
    const o = typeof owner === 'string' ? { name: owner } : owner;
    super(`${o.name}: invalid ${prop} ${showValue(value)}: ${allowed}${o.path ? ` (construct ${o.path})` : ''}`);
    this.name = 'CasperValidationError';
  }
}

/** A function that throws the owner's `CasperValidationError` for a prop, its value and what is allowed. */
export type Fail = (prop: string, value: unknown, allowed: string) => never;

/** `fail(prop, value, allowed)` for one owner, so a validator names the owner once. */
export function failFor(owner: Owner): Fail {
  return (prop, value, allowed) => {
    throw new CasperValidationError(owner, prop, value, allowed);
  };
}

/** A parsed CIDR block. */
export interface ParsedCidr {
  readonly version: 4 | 6;
  readonly prefixLength: number;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Parses an IPv4 CIDR such as `10.0.0.0/16` and checks that its host bits are
 * zero. Returns undefined when the text is not a valid IPv4 CIDR.
 */
export function parseIpv4Cidr(text: string): ParsedCidr | undefined {
  const m = IPV4_CIDR.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefixLength = Number(m[5]);
  if (octets.some((o, i) => o > 255 || String(o) !== m[i + 1])) return undefined;
  if (prefixLength > 32) return undefined;
  // Host bits must be zero: the address is a multiple of the block size.
  const address = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3];
  if (address % 2 ** (32 - prefixLength) !== 0) return undefined;
  return { version: 4, prefixLength };
}

/**
 * Parses an IPv6 CIDR such as `2001:db8::/32`. Returns undefined when the text
 * is not a valid IPv6 CIDR. Host bits are not checked (EC2 accepts them).
 */
export function parseIpv6Cidr(text: string): ParsedCidr | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > 128) return undefined;
  if (!/^[0-9a-fA-F:]+$/.test(address) || !address.includes(':')) return undefined;
  const doubleColons = address.split('::').length - 1;
  if (doubleColons > 1) return undefined;
  const groups = address.split(':').filter((g) => g !== '');
  if (groups.some((g) => g.length > 4)) return undefined;
  if (doubleColons === 0 && groups.length !== 8) return undefined;
  if (doubleColons === 1 && groups.length > 7) return undefined;
  return { version: 6, prefixLength: Number(prefix) };
}

/** Parses an IPv4 or IPv6 CIDR; undefined when it is neither. */
export function parseCidr(text: string): ParsedCidr | undefined {
  return parseIpv4Cidr(text) ?? parseIpv6Cidr(text);
}

/** Throws unless `port` is an integer TCP/UDP port (1-65535). */
export function validatePort(owner: Owner, prop: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CasperValidationError(owner, prop, port, 'a port must be an integer from 1 to 65535');
  }
}

/**
 * A duration as an error message shows it: CDK's human string, or plain
 * milliseconds when it has a fraction of a second (which the human string drops).
 */
export function describeDuration(d: { toHumanString(): string; toMilliseconds(opts?: { integral?: boolean }): number }): string {
  const ms = d.toMilliseconds({ integral: false });
  return ms % 1000 === 0 ? d.toHumanString() : `${ms} milliseconds`;
}

/** A CloudWatch namespace this library accepts (checked together with the "AWS/" and ":" prefixes). */
export const METRICS_NAMESPACE_PATTERN = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;

/** True when `ns` is a custom CloudWatch namespace. */
export function isValidMetricsNamespace(ns: string): boolean {
  return METRICS_NAMESPACE_PATTERN.test(ns) && !ns.startsWith('AWS/') && !ns.startsWith(':');
}

/** Node names: usable in tags, DNS labels, log group names and metric dimension values. */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Throws unless `name` is a node name (the one rule and message for every construct that takes one). */
export function validateNodeName(owner: Owner, prop: string, name: string | undefined): void {
  if (!NODE_NAME_PATTERN.test(name ?? '')) {
    throw new CasperValidationError(owner, prop, name, 'must be 1 to 63 letters, digits or "-", starting and ending with a letter or digit');
  }
}

/**
 * Returns `value` when it is a whole number from `min` to `max` (of `unit`,
 * named in the message when given, such as `GiB`); throws otherwise.
 */
export function validateInteger(owner: Owner, prop: string, value: number, min: number, max: number, unit?: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CasperValidationError(owner, prop, value, `must be a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}`);
  }
  return value;
}

/** A duration as this module needs it (CDK's `Duration`, without importing aws-cdk-lib into handlers). */
interface DurationLike {
  toSeconds(opts?: { integral?: boolean }): number;
  toHumanString(): string;
  toMilliseconds(opts?: { integral?: boolean }): number;
}

/**
 * Returns `value` when it lies from `min` to `max`; throws with the three
 * printed exactly otherwise, followed by `reason` in parentheses when given
 * (why the bounds are what they are).
 */
export function validateDuration<D extends DurationLike>(owner: Owner, prop: string, value: D, min: DurationLike, max: DurationLike,
  reason?: string): D {
  const ms = value.toMilliseconds({ integral: false });
  // Written so that NaN fails too.
  if (!(ms >= min.toMilliseconds({ integral: false }) && ms <= max.toMilliseconds({ integral: false }))) {
    throw new CasperValidationError(owner, prop, describeDuration(value),
      `must be from ${describeDuration(min)} to ${describeDuration(max)}${reason ? ` (${reason})` : ''}`);
  }
  return value;
}

/** Throws unless `cidr` is an IPv4 or IPv6 CIDR block (IPv4 host bits zero). */
export function validateCidr(owner: Owner, prop: string, cidr: string): void {
  if (parseCidr(cidr) === undefined) {
    throw new CasperValidationError(owner, prop, cidr, 'must be an IPv4 CIDR such as "203.0.113.0/24" (host bits zero) or an IPv6 CIDR such as "2001:db8::/32"');
  }
}

const EMAIL = /^[^\s@"<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** Whether a string is an email address SNS accepts for an email subscription. */
export function isValidEmail(email: string): boolean {
  return email.length <= 254 && EMAIL.test(email);
}

/** Whether two IPv4 CIDR blocks share an address. */
export function ipv4CidrsOverlap(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip, len] = cidr.split('/');
    const base = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(len));
    const start = base - (base % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

const SNAPSHOT_ID = /^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Throws unless `id` is an EBS snapshot id (`snap-` and 8 or 17 lowercase hex characters). */
export function validateSnapshotId(owner: Owner, prop: string, id: string): void {
  if (!SNAPSHOT_ID.test(id)) {
    throw new CasperValidationError(owner, prop, id, 'must be an EBS snapshot id: "snap-" and 8 or 17 lowercase hexadecimal digits, such as "snap-0123456789abcdef0"');
  }
}

/** Throws unless `port` is a port that none of `taken` (the node's ports and SSH) uses. */
export function validateFreePort(owner: Owner, prop: string, port: number, taken: number[]): void {
  validatePort(owner, prop, port);
  if (taken.includes(port)) {
    throw new CasperValidationError(owner, prop, port, `must differ from the node's ports and SSH (${taken.join(', ')})`);
  }
}
