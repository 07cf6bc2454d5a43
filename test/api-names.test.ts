import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './support/python-tools';

// The case conversion jsii-pacmak itself uses (its own codemaker, not a copy of ours).
const pacmakDir = path.dirname(require.resolve('jsii-pacmak/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { toPascalCase, toSnakeCase } = require(require.resolve('codemaker', { paths: [pacmakDir] })) as {
  toPascalCase: (name: string) => string;
  toSnakeCase: (name: string) => string;
};

/*
 * Public names as Python and Go users see them. jsii-pacmak derives Python's
 * snake_case and Go's PascalCase names with codemaker; a TypeScript name with a
 * mixed-case unit such as `MiBps` turns into `mi_bps` in Python. Every name of
 * the assembly must split into real words.
 */

interface JsiiNamed { readonly name: string }
interface JsiiCallable extends JsiiNamed { readonly parameters?: JsiiNamed[] }
interface JsiiType {
  readonly fqn: string;
  readonly name: string;
  readonly properties?: JsiiNamed[];
  readonly methods?: JsiiCallable[];
  readonly initializer?: JsiiCallable;
  readonly members?: JsiiNamed[];
}

/** Unit fragments that only make sense glued to the next word (MiB, GiB, KiB, TiB). */
const UNIT_FRAGMENTS = new Set(['ki', 'mi', 'gi', 'ti', 'pi']);

/** Why a member name reads badly in Python or Go, or undefined when it reads well. */
export function badName(name: string): string | undefined {
  const snake = toSnakeCase(name);
  const words = snake.split('_');
  const fragment = words.find((w, i) => UNIT_FRAGMENTS.has(w) && i < words.length - 1);
  if (fragment) return `Python "${snake}" splits a unit ("${fragment}_${words[words.indexOf(fragment) + 1]}")`;
  const letter = words.find((w) => /^[a-z]$/.test(w));
  if (letter) return `Python "${snake}" has a one-letter word "${letter}"`;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(toPascalCase(name))) return `Go "${toPascalCase(name)}" is not a Go identifier`;
  return undefined;
}

// `npm test` compiles first, so .jsii describes the current public API.
const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };

function memberNames(type: JsiiType): string[] {
  const callables = [...(type.methods ?? []), ...(type.initializer ? [type.initializer] : [])];
  return [
    ...(type.properties ?? []).map((p) => p.name),
    ...(type.methods ?? []).map((m) => m.name),
    ...callables.flatMap((c) => (c.parameters ?? []).map((p) => p.name)),
  ];
}

describe('public names read well in Python and Go', () => {
  const types = Object.values(assembly.types);

  test('the assembly has the node props', () => {
    expect(types.map((t) => t.name)).toContain('CasperReadOnlyNodeProps');
  });

  test.each(types.map((t) => [t.name, t] as const))('%s', (_name, type) => {
    const bad = [...new Set(memberNames(type))].map((n) => [n, badName(n)]).filter(([, why]) => why);
    expect(Object.fromEntries(bad)).toEqual({});
  });

  test('the throughput prop keeps its unit in every language', () => {
    // The node's props take the instance options (jsii flattens them into Python's keyword arguments).
    expect((assembly.types['cdk-casper-node.CasperReadOnlyNodeProps'] as any).interfaces).toContain('cdk-casper-node.CasperNodeInstanceOptions');
    const props = assembly.types['cdk-casper-node.CasperNodeInstanceOptions'].properties!.map((p) => p.name);
    expect(props).toContain('dataVolumeThroughputMibps');
    expect(toSnakeCase('dataVolumeThroughputMibps')).toBe('data_volume_throughput_mibps');
    expect(toPascalCase('dataVolumeThroughputMibps')).toBe('DataVolumeThroughputMibps');
  });

  test('the check can fail', () => {
    expect(badName('dataVolumeThroughputMiBps')).toBe('Python "data_volume_throughput_mi_bps" splits a unit ("mi_bps")');
    expect(badName('sizeInGiB')).toBeUndefined(); // a trailing "GiB" becomes "gib"
    expect(badName('dataVolumeSizeGiB')).toBeUndefined();
    expect(badName('ipV6')).toBeUndefined();
    expect(badName('aB')).toBe('Python "a_b" has a one-letter word "a"');
  });
});
