import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as ts from 'typescript';
import * as casper from '../src';

/*
 * The README's TypeScript examples are type-checked with the compiler options
 * of test/tsconfig.json (strict, no unused locals) against the sources in src/,
 * then synthesized. Python and Go examples run against the built packages in
 * `npx projen test:bindings` (test/bindings/readme_examples.py); this file only
 * counts them, so a README change that drops a block is noticed here too.
 */

const ROOT = path.resolve(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const LIB_ENTRY = path.join(ROOT, 'src', 'index.ts');
/** Where the blocks live for the compiler (virtual files: never written to disk). */
const VIRTUAL_DIR = path.join(ROOT, 'test', '.readme-blocks');

/** Blocks the README holds today; update when examples are added or removed on purpose. */
const EXPECTED_BLOCKS = { ts: 6, python: 6, go: 2 };

/** Unused variables and imports: ignored in fragments, whose wrapper imports every name. */
const UNUSED_CODES = new Set([6133, 6196]);
/** "All imports in import declaration are unused": ignored on the wrapper's own import lines. */
const UNUSED_IMPORT_DECLARATION = 6192;

type Lang = 'ts' | 'python' | 'go';
const LANGS: Record<string, Lang> = { ts: 'ts', typescript: 'ts', python: 'python', py: 'python', go: 'go', golang: 'go' };

interface Block {
  readonly lang: Lang;
  /** 1-based position among the README's blocks of this language. */
  readonly index: number;
  /** 1-based README line of the block's first code line. */
  readonly line: number;
  /** The nearest heading above the block. */
  readonly heading: string;
  readonly code: string;
}

/**
 * Fenced code blocks of a Markdown document, in order. Handles fences indented
 * inside list items (the indentation is removed from the code) and headings
 * only outside fences. Same rules as test/bindings/readme_examples.py.
 */
function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const counts: Record<string, number> = {};
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const heads = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(lines[i]);
    if (heads) {
      heading = heads[2];
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[j])) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    const lang = LANGS[info.toLowerCase()];
    if (lang) {
      counts[lang] = (counts[lang] ?? 0) + 1;
      blocks.push({ lang, index: counts[lang], line: i + 2, heading, code: body.join('\n') });
    }
    i = j;
  }
  return blocks;
}

/** The topic of a block: its heading without a leading language name ("Python: a complete node" -> "a complete node"). */
function topic(heading: string): string {
  return heading.replace(/^(TypeScript|Python|Go):\s*/, '');
}

/** Languages with at least one block, by topic. */
function topicsOf(all: Block[]): Map<string, Set<Lang>> {
  const topics = new Map<string, Set<Lang>>();
  for (const b of all) topics.set(topic(b.heading), (topics.get(topic(b.heading)) ?? new Set()).add(b.lang));
  return topics;
}

/** Topics whose TypeScript blocks outnumber their Python blocks (every TypeScript example has a Python twin). */
function missingTwins(all: Block[]): string[] {
  const count = (t: string, lang: Lang) => all.filter((b) => b.lang === lang && topic(b.heading) === t).length;
  return [...topicsOf(all).keys()]
    .filter((t) => count(t, 'ts') > count(t, 'python'))
    .map((t) => `"${t}": ${count(t, 'ts')} TypeScript block(s), ${count(t, 'python')} Python block(s)`);
}

/** A complete program brings its own imports; anything else is a fragment (e.g. using `this`). */
function isFragment(code: string): boolean {
  return !/^\s*import\s/m.test(code);
}

interface Source {
  readonly name: string;
  readonly fileName: string;
  readonly text: string;
  readonly fragment: boolean;
  /** README line of the source's line 1 (after the wrapper), for messages. */
  readonly firstLine: number;
  /** Lines the wrapper adds before the block's code. */
  readonly preludeLines: number;
}

const CDK_PRELUDE = [
  "import { App, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';",
  "import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';",
  "import * as ec2 from 'aws-cdk-lib/aws-ec2';",
  "import * as iam from 'aws-cdk-lib/aws-iam';",
  "import * as logs from 'aws-cdk-lib/aws-logs';",
  "import * as s3 from 'aws-cdk-lib/aws-s3';",
  "import * as sns from 'aws-cdk-lib/aws-sns';",
  "import { Construct } from 'constructs';",
];
const CDK_NAMES = ['App', 'Aws', 'CfnOutput', 'Duration', 'RemovalPolicy', 'Stack', 'Tags',
  'cloudwatch', 'ec2', 'iam', 'logs', 's3', 'sns', 'Construct'];

function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'test', 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!parsed || parsed.errors.length > 0) {
    throw new Error(`test/tsconfig.json: ${parsed?.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('; ')}`);
  }
  // The package name resolves to the sources, as `npm install cdk-casper-node` would to lib/.
  return { ...parsed.options, noEmit: true, paths: { 'cdk-casper-node': [LIB_ENTRY] } };
}

/** Everything src/index.ts exports, split into values and types. */
function libraryExports(options: ts.CompilerOptions): { values: string[]; types: string[]; program: ts.Program } {
  const program = ts.createProgram([LIB_ENTRY], options);
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(LIB_ENTRY)!)!;
  const names = checker.getExportsOfModule(symbol).map((s) => s.name);
  // Values (classes, enums) exist at runtime; the rest are types (props interfaces).
  const values = names.filter((n) => n in casper);
  const types = names.filter((n) => !(n in casper));
  const clash = [...values, ...types].filter((n) => CDK_NAMES.includes(n));
  if (clash.length > 0) throw new Error(`the fragment wrapper imports ${clash.join(', ')} from both aws-cdk-lib and the library`);
  return { values: values.sort(), types: types.sort(), program };
}

/** A compilable module for a block: complete programs as they are, fragments wrapped in a Stack. */
function toSource(name: string, fileName: string, code: string, firstLine: number, lib: { values: string[]; types: string[] }): Source {
  if (!isFragment(code)) {
    return { name, fileName, text: code, fragment: false, firstLine, preludeLines: 0 };
  }
  const prelude = [
    ...CDK_PRELUDE,
    `import { ${lib.values.join(', ')} } from 'cdk-casper-node';`,
    `import type { ${lib.types.join(', ')} } from 'cdk-casper-node';`,
    '',
    'export class Example extends Stack {',
    '  constructor(scope: Construct, id: string) {',
    '    super(scope, id);',
  ];
  const text = [...prelude, code, '  }', '}', ''].join('\n');
  return { name, fileName, text, fragment: true, firstLine, preludeLines: prelude.length };
}

/** One line per diagnostic that counts, located in README.md (or in the wrapper). */
function typeCheck(sources: Source[], options: ts.CompilerOptions, oldProgram?: ts.Program): Map<string, string[]> {
  const byFile = new Map(sources.map((s) => [s.fileName, s]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const source = byFile.get(path.resolve(fileName));
    return source
      ? ts.createSourceFile(fileName, source.text, languageVersion, true)
      : getSourceFile.call(host, fileName, languageVersion, ...rest);
  };
  host.fileExists = (fileName) => byFile.has(path.resolve(fileName)) || fileExists.call(host, fileName);
  host.readFile = (fileName) => byFile.get(path.resolve(fileName))?.text ?? readFile.call(host, fileName);

  const program = ts.createProgram(sources.map((s) => s.fileName), options, host, oldProgram);
  const result = new Map<string, string[]>();
  for (const source of sources) {
    const sf = program.getSourceFile(source.fileName)!;
    const lineOf = (d: ts.Diagnostic) => sf.getLineAndCharacterOfPosition(d.start ?? 0).line;
    const ignored = (d: ts.Diagnostic) => source.fragment &&
      (UNUSED_CODES.has(d.code) || (d.code === UNUSED_IMPORT_DECLARATION && lineOf(d) < source.preludeLines));
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].filter((d) => !ignored(d));
    result.set(source.name, diagnostics.map((d) => {
      const line = lineOf(d);
      const where = line < source.preludeLines ? 'fragment wrapper' : `README.md:${source.firstLine + line - source.preludeLines}`;
      return `${where}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    }));
  }
  return result;
}

/**
 * Runs a source (transpiled to CommonJS, `cdk-casper-node` bound to src/) and
 * synthesizes every App it creates, or its `Example` stack for a fragment.
 * Returns the stacks' resource counts; throws when synthesis fails or reports errors.
 */
function synthesize(source: Source, outdirs: string[]): Record<string, number> {
  const js = ts.transpileModule(source.text, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: source.fileName,
  }).outputText;
  const apps: cdk.App[] = [];
  const newOutdir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-synth-'));
    outdirs.push(dir);
    return dir;
  };
  class CapturingApp extends cdk.App {
    constructor(props: cdk.AppProps = {}) {
      super({ ...props, outdir: props.outdir ?? newOutdir() });
      apps.push(this);
    }
  }
  const cdkWithCapture = new Proxy(cdk, { get: (target, key) => (key === 'App' ? CapturingApp : Reflect.get(target, key)) });
  const requireForBlock = (id: string): unknown => {
    if (id === 'cdk-casper-node') return casper;
    if (id === 'aws-cdk-lib') return cdkWithCapture;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest's registry, shared with src/
    return require(id);
  };
  const mod = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', 'exports', js)(requireForBlock, mod, mod.exports);

  if (source.fragment) {
    const Example = mod.exports.Example as new (scope: cdk.App, id: string) => cdk.Stack;
    new Example(new CapturingApp(), 'Example');
  }
  if (apps.length === 0) throw new Error(`${source.name} creates no App`);
  const resources: Record<string, number> = {};
  for (const app of apps) {
    const assembly = app.synth();
    const errors = assembly.stacks.flatMap((s) => s.messages.filter((m) => m.level === 'error')
      .map((m) => `${m.id}: ${String(m.entry.data)}`));
    if (errors.length > 0) throw new Error(`${source.name}: synth reported errors:\n${errors.join('\n')}`);
    for (const stack of assembly.stacks) {
      resources[stack.stackName] = Object.keys(stack.template.Resources ?? {}).length;
    }
  }
  return resources;
}

const blocks = extractBlocks(fs.readFileSync(README, 'utf8'));
const tsBlocks = blocks.filter((b) => b.lang === 'ts');
const blockName = (b: Block) => `ts block ${b.index} (README.md:${b.line}, "${b.heading}")`;

/** Broken on purpose: the checker must report them. */
const BROKEN = {
  program: [
    "import { App, Stack } from 'aws-cdk-lib';",
    "import { CasperNetwork, CasperReadOnlyNode } from 'cdk-casper-node';",
    '',
    'const app = new App();',
    "new CasperReadOnlyNode(new Stack(app, 'Broken'), 'Node', { network: CasperNetwork.TESTNET, nodeNmae: 'x' });",
  ].join('\n'),
  fragment: "new CasperVpc(this, 'Network', { cidrBlock: '10.0.0.0/16' });",
  /** Type-checks, but the construct rejects the value at synth. */
  synthOnly: "new CasperVpc(this, 'Network', { cidr: '10.0.0.0/8' });",
};

describe('README examples', () => {
  let sources: Source[];
  let diagnostics: Map<string, string[]>;
  let lib: { values: string[]; types: string[] };
  const outdirs: string[] = [];

  beforeAll(() => {
    const options = compilerOptions();
    const exported = libraryExports(options);
    lib = exported;
    sources = tsBlocks.map((b) => toSource(blockName(b), path.join(VIRTUAL_DIR, `ts-block-${b.index}.ts`), b.code, b.line, lib));
    const broken = Object.entries(BROKEN).map(([kind, code]) =>
      toSource(`broken ${kind}`, path.join(VIRTUAL_DIR, `broken-${kind}.ts`), code, 1, lib));
    // One program for all blocks (the aws-cdk-lib declarations are parsed once).
    diagnostics = typeCheck([...sources, ...broken], options, exported.program);
  }, 300_000); // two programs over aws-cdk-lib's declarations: about 20 s alone, slower beside other suites

  afterAll(() => {
    for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('finds the expected number of blocks per language', () => {
    const counts = { ts: 0, python: 0, go: 0 };
    for (const b of blocks) counts[b.lang]++;
    expect(counts).toEqual(EXPECTED_BLOCKS);
  });

  test('every TypeScript example has a Python twin, and the complete node a Go one', () => {
    expect(missingTwins(blocks)).toEqual([]);
    expect(topicsOf(blocks).get('a complete node')).toEqual(new Set(['ts', 'python', 'go']));
  });

  test('the fragment wrapper imports the library\'s exports', () => {
    expect(lib.values).toEqual(Object.keys(casper).sort());
    expect(lib.values).toEqual(expect.arrayContaining(['CasperReadOnlyNode', 'CasperVpc', 'CasperCanary']));
    expect(lib.types).toEqual(expect.arrayContaining(['CasperReadOnlyNodeProps']));
  });

  describe.each(tsBlocks.map((b) => [blockName(b), b] as const))('%s', (name, block) => {
    test(`type-checks (${isFragment(block.code) ? 'fragment, wrapped in a Stack' : 'complete program'})`, () => {
      expect(diagnostics.get(name)).toEqual([]);
    });

    test('synthesizes', () => {
      const source = sources.find((s) => s.name === name)!;
      const resources = synthesize(source, outdirs);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const count of Object.values(resources)) expect(count).toBeGreaterThan(0);
    });
  });

  describe('the checks can fail', () => {
    test('a complete program with a misspelled prop', () => {
      expect(diagnostics.get('broken program')).toEqual([
        expect.stringMatching(/^README\.md:5: TS2561: .*'nodeNmae' does not exist in type 'CasperReadOnlyNodeProps'. Did you mean to write 'nodeName'\?/),
      ]);
    });

    test('a fragment with an unknown prop', () => {
      expect(diagnostics.get('broken fragment')).toEqual([
        expect.stringMatching(/^README\.md:1: TS2353: .*'cidrBlock' does not exist in type 'CasperVpcProps'/),
      ]);
    });

    test('a fragment that type-checks but is rejected at synth', () => {
      expect(diagnostics.get('broken synthOnly')).toEqual([]);
      const source = toSource('broken synthOnly', path.join(VIRTUAL_DIR, 'broken-synth.ts'), BROKEN.synthOnly, 1, lib);
      expect(() => synthesize(source, outdirs)).toThrow(/CasperVpc: invalid cidr "10\.0\.0\.0\/8"/);
    });

    test('a TypeScript example without its Python twin', () => {
      const found = extractBlocks(['## TypeScript: a thing', '```ts', 'x', '```', '## Python: a thing', '```python', 'x', '```',
        '## Other', '```ts', 'y', '```', '```ts', 'z', '```', '```python', 'z', '```'].join('\n'));
      expect(missingTwins(found)).toEqual(['"Other": 2 TypeScript block(s), 1 Python block(s)']);
    });

    test('the extractor reads indented fences, headings and languages', () => {
      const found = extractBlocks([
        '# Top', '```ts', 'const a = 1;', '```', '## Sub `X`', '1. item', '', '   ```python', '   x = 1', '     y = 2', '   ```',
        '```sh', '# not a heading', '```', '```go', 'func main() {}', '```',
      ].join('\n'));
      expect(found).toEqual([
        { lang: 'ts', index: 1, line: 3, heading: 'Top', code: 'const a = 1;' },
        { lang: 'python', index: 1, line: 9, heading: 'Sub `X`', code: 'x = 1\n  y = 2' },
        { lang: 'go', index: 1, line: 16, heading: 'Sub `X`', code: 'func main() {}' },
      ]);
    });
  });
});
