import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { CasperCanary, CasperCanaryProps, CasperElasticIp, CasperNetwork } from '../../src';
import { expectCfnLintClean, nagFindings } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'assets', 'canary', 'nodejs', 'node_modules', 'casper-canary.js');
const URL = 'http://203.0.113.10:8888/status';

beforeAll(() => {
  // The construct packages assets/canary as it is: the bundle must exist before synthesis.
  if (!fs.existsSync(BUNDLE)) execFileSync('npx', ['projen', 'bundle:canary'], { cwd: ROOT, stdio: 'pipe' });
});

function setup(props: Partial<CasperCanaryProps> = { statusUrl: URL }) {
  const stack = agnosticStack();
  const canary = new CasperCanary(stack, 'Check', props as CasperCanaryProps);
  // Synthesized on first use, so the tree can still grow before that.
  let template: Template | undefined;
  return { stack, canary, get t() { return template ??= Template.fromStack(stack); } };
}

function withElasticIp(props: Partial<CasperCanaryProps> = {}) {
  const stack = agnosticStack();
  const eip = new CasperElasticIp(stack, 'Ip', { nodeName: 'reader-1' });
  const canary = new CasperCanary(stack, 'Check', { elasticIp: eip, network: CasperNetwork.TESTNET, ...props });
  return { stack, eip, canary, t: Template.fromStack(stack) };
}

/** Logical id of a construct's CloudFormation resource. */
function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  return Stack.of(construct as any).getLogicalId(construct.node.defaultChild as any);
}

/** A CloudFormation value as text: `{ Ref: X }` reads `${X}`, `Fn::GetAtt` `${X.Attr}`, and so on. */
function render(v: any): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if ('Ref' in v) return `\${${v.Ref}}`;
  if ('Fn::GetAtt' in v) return `\${${v['Fn::GetAtt'].join('.')}}`;
  if ('Fn::Join' in v) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
  if ('Fn::Select' in v) return `select(${v['Fn::Select'][0]}, ${render(v['Fn::Select'][1])})`;
  if ('Fn::Split' in v) return `split(${v['Fn::Split'][0]}, ${render(v['Fn::Split'][1])})`;
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}

/** The calls of the AwsCustomResources (`Custom::AWS`), by logical id. */
function awsCalls(t: Template): { [logicalId: string]: { create: any; update: any; dependsOn: string[] } } {
  return Object.fromEntries(Object.entries(t.findResources('Custom::AWS')).map(([id, r]) => [id, {
    create: JSON.parse(render(r.Properties.Create)),
    update: JSON.parse(render(r.Properties.Update)),
    dependsOn: r.DependsOn ?? [],
  }]));
}

describe('CasperCanary', () => {
  describe('standalone against a status URL', () => {
    test('canary: runtime, handler, schedule, environment', () => {
      const { t } = setup();
      t.resourceCountIs('AWS::Synthetics::Canary', 1);
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        RuntimeVersion: 'syn-nodejs-puppeteer-13.0',
        Code: { Handler: 'casper-canary.handler', S3Key: Match.stringLikeRegexp('\\.zip$') },
        Schedule: { Expression: 'rate(5 minutes)' },
        StartCanaryAfterCreation: true,
        ProvisionedResourceCleanup: 'AUTOMATIC',
        RunConfig: {
          // A run never outlasts the interval, nor two minutes.
          TimeoutInSeconds: 120,
          EnvironmentVariables: {
            CASPER_STATUS_URL: URL,
            CASPER_MAX_BLOCK_AGE_SECONDS: '600',
            CASPER_REQUEST_TIMEOUT_MS: '10000',
            CASPER_FAIL_ON_CATCH_UP: 'false',
          },
        },
      });
    });

    test('no expected chainspec without a network', () => {
      const { t } = setup();
      const canary = Object.values(t.findResources('AWS::Synthetics::Canary'))[0];
      expect(Object.keys(canary.Properties.RunConfig.EnvironmentVariables).sort()).toEqual([
        'CASPER_FAIL_ON_CATCH_UP', 'CASPER_MAX_BLOCK_AGE_SECONDS', 'CASPER_REQUEST_TIMEOUT_MS', 'CASPER_STATUS_URL',
      ]);
    });

    test('status URL and target description are the given URL, even with a network', () => {
      const { canary, t } = setup({ statusUrl: 'https://node.example.com/status', network: CasperNetwork.TESTNET });
      expect(canary.statusUrl).toBe('https://node.example.com/status');
      expect(canary.targetDescription).toBe('https://node.example.com/status');
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        RunConfig: {
          EnvironmentVariables: {
            CASPER_STATUS_URL: 'https://node.example.com/status',
            CASPER_EXPECTED_CHAINSPEC: 'casper-test',
          },
        },
      });
    });

    test('thresholds and options become the environment', () => {
      const { t } = setup({
        statusUrl: URL,
        maxBlockAge: Duration.minutes(30),
        requestTimeout: Duration.millis(2500),
        failOnCatchUp: true,
        network: CasperNetwork.MAINNET,
      });
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        RunConfig: {
          EnvironmentVariables: {
            CASPER_STATUS_URL: URL,
            CASPER_MAX_BLOCK_AGE_SECONDS: '1800',
            CASPER_REQUEST_TIMEOUT_MS: '2500',
            CASPER_FAIL_ON_CATCH_UP: 'true',
            CASPER_EXPECTED_CHAINSPEC: 'casper',
          },
        },
      });
    });

    test('the runtime prop', () => {
      const { t } = setup({ statusUrl: URL, runtime: synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_12_0 });
      t.hasResourceProperties('AWS::Synthetics::Canary', { RuntimeVersion: 'syn-nodejs-puppeteer-12.0' });
    });

    test.each([
      ['rate(1 minute)', Duration.minutes(1), 60],
      ['rate(15 minutes)', Duration.minutes(15), 120],
      ['rate(60 minutes)', Duration.hours(1), 120],
    ])('interval: %s', (expression, interval, timeout) => {
      const { t, canary } = setup({ statusUrl: URL, interval });
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        Schedule: { Expression: expression },
        RunConfig: { TimeoutInSeconds: timeout },
      });
      expect(canary.schedulePeriod.toSeconds()).toBe(interval.toSeconds());
    });
  });

  describe('against a CasperElasticIp', () => {
    test('checks http://<elastic IP>:<REST port>/status on the network\'s chainspec', () => {
      const { t, eip, canary } = withElasticIp();
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        RunConfig: {
          EnvironmentVariables: {
            CASPER_STATUS_URL: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [logicalId(eip), 'PublicIp'] }, ':8888/status']] },
            CASPER_EXPECTED_CHAINSPEC: 'casper-test',
            CASPER_MAX_BLOCK_AGE_SECONDS: '600',
            CASPER_REQUEST_TIMEOUT_MS: '10000',
            CASPER_FAIL_ON_CATCH_UP: 'false',
          },
        },
      });
      expect(canary.targetDescription).toBe('the node status endpoint');
    });

    test('the REST port of a custom network', () => {
      const { t, eip } = withElasticIp({ network: CasperNetwork.custom({ chainspecName: 'my-net', restPort: 18888 }) });
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        RunConfig: {
          EnvironmentVariables: {
            CASPER_STATUS_URL: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [logicalId(eip), 'PublicIp'] }, ':18888/status']] },
            CASPER_EXPECTED_CHAINSPEC: 'my-net',
          },
        },
      });
    });

    test('port 8888 and any chainspec without a network', () => {
      const stack = agnosticStack();
      const eip = new CasperElasticIp(stack, 'Ip');
      new CasperCanary(stack, 'Check', { elasticIp: eip });
      const canary = Object.values(Template.fromStack(stack).findResources('AWS::Synthetics::Canary'))[0];
      const env = canary.Properties.RunConfig.EnvironmentVariables;
      expect(env.CASPER_STATUS_URL).toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [logicalId(eip), 'PublicIp'] }, ':8888/status']] });
      expect(env).not.toHaveProperty('CASPER_EXPECTED_CHAINSPEC');
    });

    test('cdk-nag clean', () => {
      expect(nagFindings(withElasticIp().stack)).toEqual([]);
    });
  });

  describe('artifacts bucket', () => {
    test('encrypted, private, TLS-only; artifacts expire after 30 days', () => {
      const { t, canary } = setup();
      t.resourceCountIs('AWS::S3::Bucket', 1);
      t.hasResource('AWS::S3::Bucket', {
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LifecycleConfiguration: {
            Rules: [{ Status: 'Enabled', ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
          },
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(canary.artifactsBucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          })]),
        },
      });
      t.hasResourceProperties('AWS::Synthetics::Canary', {
        ArtifactS3Location: { 'Fn::Join': ['', ['s3://', { Ref: logicalId(canary.artifactsBucket) }]] },
      });
    });

    test('the artifactsExpiration prop', () => {
      const { t } = setup({ statusUrl: URL, artifactsExpiration: Duration.days(7) });
      t.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7 })] },
      });
    });

    test('DESTROY deletes the bucket and its objects', () => {
      const { t } = setup({ statusUrl: URL, removalPolicy: RemovalPolicy.DESTROY });
      t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
      t.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    });
  });

  describe('canary log group', () => {
    test('reads the engine ARN, creates /aws/lambda/<function> and sets its retention, in that order', () => {
      // The default runtime (13.0) reports its function in EngineConfigs only.
      const { t, canary, stack } = setup();
      const canaryId = logicalId(canary.canary);
      const calls = awsCalls(t);
      expect(Object.keys(calls)).toHaveLength(3);
      const [engineId] = Object.entries(calls).find(([, c]) => c.create.action === 'getCanary')!;
      const [groupId] = Object.entries(calls).find(([, c]) => c.create.action === 'createLogGroup')!;
      const [retentionId] = Object.entries(calls).find(([, c]) => c.create.action === 'putRetentionPolicy')!;
      // The function name is the 7th field of the engine ARN arn:aws:lambda:<region>:<account>:function:<name>:<version>.
      const groupName = `/aws/lambda/select(6, split(:, \${${engineId}.Canary.EngineConfigs.0.EngineArn}))`;
      expect(render(stack.resolve(canary.logGroupName))).toBe(groupName);

      expect(calls[engineId].create).toEqual({
        service: 'Synthetics',
        action: 'getCanary',
        parameters: { Name: `\${${canaryId}}` },
        physicalResourceId: { id: `\${${canaryId}}` },
        outputPaths: ['Canary.EngineConfigs.0.EngineArn'],
      });
      expect(calls[groupId].create).toEqual({
        service: 'CloudWatchLogs',
        action: 'createLogGroup',
        parameters: { logGroupName: groupName },
        physicalResourceId: { id: groupName },
        ignoreErrorCodesMatching: 'ResourceAlreadyExistsException',
      });
      expect(calls[retentionId].create).toEqual({
        service: 'CloudWatchLogs',
        action: 'putRetentionPolicy',
        parameters: { logGroupName: groupName, retentionInDays: 30 },
        physicalResourceId: { id: `${groupName}:retention` },
      });
      // On update too (a replaced canary has a new function).
      for (const c of Object.values(calls)) expect(c.update).toEqual(c.create);
      expect(calls[retentionId].dependsOn).toContain(groupId);
      t.hasResourceProperties('Custom::AWS', { InstallLatestAwsSdk: false });
    });

    // Synthetics API model, Canary.EngineConfigs: "syn-nodejs-puppeteer-11.0 and above [...] use
    // engineConfigs only. You can no longer use engineArn in these versions." (checked against the
    // model in test/aws-api-calls.test.ts).
    test.each(([
      [synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0, 'Canary.EngineConfigs.0.EngineArn'],
      [synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_12_0, 'Canary.EngineConfigs.0.EngineArn'],
      [synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_11_0, 'Canary.EngineConfigs.0.EngineArn'],
      [synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_10_0, 'Canary.EngineArn'],
      [synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_9_1, 'Canary.EngineArn'],
    ] as Array<[synthetics.Runtime, string]>).map(([r, p]) => [r.name, p, r] as const))('runtime %s: the function is read from %s', (_name, enginePath, runtime) => {
      const { t, canary, stack } = setup({ statusUrl: URL, runtime });
      const [engineId, engine] = Object.entries(awsCalls(t)).find(([, c]) => c.create.action === 'getCanary')!;
      expect(engine.create.outputPaths).toEqual([enginePath]);
      expect(engine.update.outputPaths).toEqual([enginePath]);
      expect(render(stack.resolve(canary.logGroupName))).toBe(`/aws/lambda/select(6, split(:, \${${engineId}.${enginePath}}))`);
      // Nothing else in the template reads a field the call does not return.
      const reads = JSON.stringify(t.toJSON()).match(new RegExp(`"${engineId}","[^"]+"`, 'g'));
      expect(new Set(reads)).toEqual(new Set([`"${engineId}","${enginePath}"`]));
    });

    test('the logRetention prop', () => {
      const { t } = setup({ statusUrl: URL, logRetention: logs.RetentionDays.ONE_WEEK });
      const retention = Object.values(awsCalls(t)).find((c) => c.create.action === 'putRetentionPolicy')!;
      expect(retention.create.parameters.retentionInDays).toBe(7);
      expect(retention.update.parameters.retentionInDays).toBe(7);
    });

    test('the custom resources may only read this canary and touch cwsyn-* Lambda log groups', () => {
      const { t, canary } = setup();
      const canaryId = logicalId(canary.canary);
      const policies = Object.values(t.findResources('AWS::IAM::Policy'));
      // Every AwsCustomResource policy goes to the shared provider role.
      const providerRoles = new Set(policies.flatMap((p) => p.Properties.Roles.map((r: any) => r.Ref)));
      expect(providerRoles.size).toBe(1);
      const granted = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
        .map((s: any) => ({ effect: s.Effect, actions: [].concat(s.Action).sort(), resource: render(s.Resource), condition: s.Condition }));
      const logGroups = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/cwsyn-*';
      expect(new Set(granted.map((g) => JSON.stringify(g)))).toEqual(new Set([
        { effect: 'Allow', actions: ['synthetics:GetCanary'], resource: `arn:\${AWS::Partition}:synthetics:\${AWS::Region}:\${AWS::AccountId}:canary:\${${canaryId}}`, condition: undefined },
        { effect: 'Allow', actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], resource: logGroups, condition: undefined },
      ].map((g) => JSON.stringify(g))));
    });
  });

  describe('metrics', () => {
    test('metricSuccessPercent: CloudWatchSynthetics SuccessPercent of this canary, one period per run', () => {
      const { canary, stack } = setup({ statusUrl: URL, interval: Duration.minutes(10) });
      const m = canary.metricSuccessPercent();
      expect(m.namespace).toBe('CloudWatchSynthetics');
      expect(m.metricName).toBe('SuccessPercent');
      expect(Object.keys(m.dimensions ?? {})).toEqual(['CanaryName']);
      expect(stack.resolve(m.dimensions!.CanaryName)).toEqual({ Ref: logicalId(canary.canary) });
      expect(m.period.toMinutes()).toBe(10);
      expect(m.statistic).toBe('Average');
      const overridden = canary.metricSuccessPercent({ period: Duration.minutes(30), statistic: 'Minimum' });
      expect([overridden.period.toMinutes(), overridden.statistic]).toEqual([30, 'Minimum']);
    });

    test('metricDuration', () => {
      const { canary, stack } = setup();
      const m = canary.metricDuration();
      expect(m.namespace).toBe('CloudWatchSynthetics');
      expect(m.metricName).toBe('Duration');
      expect(stack.resolve(m.dimensions!.CanaryName)).toEqual({ Ref: logicalId(canary.canary) });
      expect(m.period.toMinutes()).toBe(5);
      expect(canary.metricDuration({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
    });
  });

  describe('the packaged canary script (the runtime loads nodejs/node_modules/<handler file>)', () => {
    test('the asset of the canary\'s code holds nodejs/node_modules/casper-canary.js with a handler function', () => {
      const { stack } = setup();
      const assembly = (stack.node.root as App).synth();
      const s3Key: string = Object.values(Template.fromStack(stack).findResources('AWS::Synthetics::Canary'))[0].Properties.Code.S3Key;

      // Find the asset whose upload key is the canary's S3Key in the stack's asset manifest.
      const manifests = fs.readdirSync(assembly.directory).filter((f) => f.endsWith('.assets.json'));
      const sources = manifests.flatMap((f) => Object.values(JSON.parse(fs.readFileSync(path.join(assembly.directory, f), 'utf8')).files ?? {}) as any[])
        .filter((a) => Object.values(a.destinations).some((d: any) => d.objectKey === s3Key))
        .map((a) => a.source);
      expect(sources).toHaveLength(1);
      expect(sources[0].packaging).toBe('zip');
      const dir = path.join(assembly.directory, sources[0].path);

      const files = listFiles(dir);
      expect(files).toContain('nodejs/node_modules/casper-canary.js');
      // Nothing but the runtime's layout.
      expect(files.filter((f) => !f.startsWith('nodejs/node_modules/'))).toEqual([]);

      // The runtime's own way of loading it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const script = require(path.join(dir, 'nodejs', 'node_modules', 'casper-canary.js'));
      expect(typeof script.handler).toBe('function');
    });
  });

  test('cdk-nag clean', () => {
    expect(nagFindings(setup().stack)).toEqual([]);
  });

  test('cdk-nag clean with DESTROY (auto-delete objects)', () => {
    expect(nagFindings(setup({ statusUrl: URL, removalPolicy: RemovalPolicy.DESTROY }).stack)).toEqual([]);
  });

  test('cfn-lint: no error and no unexplained warning', () => {
    expectCfnLintClean(withElasticIp().stack);
  });

  describe('bad input', () => {
    const reject = (props: Partial<CasperCanaryProps>, message: string, withIp = false) => {
      const stack = agnosticStack();
      const elasticIp = withIp ? new CasperElasticIp(stack, 'Ip') : undefined;
      expectRejected(stack, () => new CasperCanary(stack, 'Check', { ...(elasticIp ? { elasticIp } : {}), ...props } as CasperCanaryProps), message);
    };

    test('both elasticIp and statusUrl', () => {
      reject({ statusUrl: URL }, `CasperCanary: invalid statusUrl "${URL}": give exactly one of elasticIp and statusUrl`, true);
    });

    test('neither elasticIp nor statusUrl', () => {
      reject({}, 'CasperCanary: invalid statusUrl null: give exactly one of elasticIp and statusUrl');
    });

    test.each(['ftp://x', 'not a url', 'http://', 'http://host name/status'])('statusUrl %j', (statusUrl) => {
      reject({ statusUrl }, `CasperCanary: invalid statusUrl ${JSON.stringify(statusUrl)}: must be an http:// or https:// URL such as "http://203.0.113.10:8888/status"`);
    });

    test.each([
      ['30 seconds', Duration.seconds(30)],
      ['1 minute 30 seconds', Duration.seconds(90)],
      ['1 hour 1 minute', Duration.minutes(61)],
      ['90500 milliseconds', Duration.millis(90500)],
    ])('interval %s', (human, interval) => {
      reject({ statusUrl: URL, interval }, `CasperCanary: invalid interval "${human}": must be whole minutes from 1 to 60`);
    });

    test.each([
      ['30 seconds', Duration.seconds(30)],
      ['2 days', Duration.days(2)],
    ])('maxBlockAge %s', (human, maxBlockAge) => {
      reject({ statusUrl: URL, maxBlockAge }, `CasperCanary: invalid maxBlockAge "${human}": must be from 1 minute to 1 day`);
    });

    test.each([
      ['500 milliseconds', Duration.millis(500)],
      ['1 minute 1 second', Duration.seconds(61)],
    ])('requestTimeout %s', (human, requestTimeout) => {
      reject({ statusUrl: URL, requestTimeout }, `CasperCanary: invalid requestTimeout "${human}": must be from 1 second to 1 minute`);
    });

    test.each([
      ['0 days', Duration.days(0)],
      ['1 day 12 hours', Duration.hours(36)],
      ['86400500 milliseconds', Duration.millis(86400500)],
    ])('artifactsExpiration %s', (human, artifactsExpiration) => {
      reject({ statusUrl: URL, artifactsExpiration }, `CasperCanary: invalid artifactsExpiration "${human}": must be whole days, at least 1`);
    });

    test.each([
      synthetics.Runtime.SYNTHETICS_NODEJS_PLAYWRIGHT_2_0,
      synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_5_1,
      new synthetics.Runtime('syn-nodejs-puppeteer-latest', synthetics.RuntimeFamily.NODEJS),
    ].map((r) => [r.name, r] as const))('runtime %s', (_name, runtime) => {
      reject({ statusUrl: URL, runtime }, `CasperCanary: invalid runtime "${runtime.name}": must be a Node.js Puppeteer runtime `
        + 'such as "syn-nodejs-puppeteer-13.0" (synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_*): the canary script is written for it');
    });

    test('the limits themselves are accepted', () => {
      for (const props of [
        { interval: Duration.minutes(1) }, { interval: Duration.minutes(60) },
        { maxBlockAge: Duration.minutes(1) }, { maxBlockAge: Duration.days(1) },
        { requestTimeout: Duration.seconds(1) }, { requestTimeout: Duration.seconds(60) },
        { artifactsExpiration: Duration.days(1) },
      ]) {
        expect(() => setup({ statusUrl: URL, ...props })).not.toThrow();
      }
    });
  });
});

/** Every file below `dir`, relative and with forward slashes. */
function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory()
    ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`)
    : [`${prefix}${e.name}`]);
}
