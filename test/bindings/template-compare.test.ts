import { explainVersionDifferences } from './cdk-version-differences';
import { compareTemplates, Json, maskAssetHashes, normalizeTemplate, resourceTypeCounts } from './template-compare';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function template(extra: Record<string, Json> = {}, key = `${HASH_A}.zip`): Json {
  return {
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Key: key } } },
      ...extra,
    },
  };
}

describe('template comparison', () => {
  test('identical templates match', () => {
    expect(compareTemplates(template(), template())).toEqual([]);
  });

  test('asset hashes are masked', () => {
    expect(maskAssetHashes(`${HASH_A}.zip`)).toBe('<asset-hash>.zip');
    expect(compareTemplates(template({}, `${HASH_A}.zip`), template({}, `${HASH_B}.zip`))).toEqual([]);
  });

  test('CDK metadata resources, which name the language, are ignored', () => {
    const withMeta = template({ CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'python' } } });
    expect(normalizeTemplate(withMeta)).toEqual(normalizeTemplate(template()));
  });

  test('a changed property is reported with its path', () => {
    const other = template();
    (other as any).Resources.Vpc.Properties.CidrBlock = '10.1.0.0/16';
    expect(compareTemplates(template(), other)).toEqual([
      'Resources.Vpc.Properties.CidrBlock: "10.0.0.0/16" != "10.1.0.0/16"',
    ]);
  });

  test('an extra resource shows in the counts and in the resources', () => {
    const other = template({ Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: {} } });
    expect(compareTemplates(template(), other)).toEqual([
      'resource counts.AWS::EC2::SecurityGroup: only in the second template',
      'Resources.Sg: only in the second template',
    ]);
  });

  test('resource counts by type', () => {
    expect(resourceTypeCounts(template())).toEqual({ 'AWS::EC2::VPC': 1, 'AWS::Lambda::Function': 1 });
  });
});

describe('differences between aws-cdk-lib versions', () => {
  const BUCKET_DEPLOYMENT = 'CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C81C01536';
  const withFunction = (id: string, runtime: string, extra: Record<string, Json> = {}): Json => ({
    Resources: { [id]: { Type: 'AWS::Lambda::Function', Properties: { Runtime: runtime, ...extra } } },
  });

  test("aws-cdk-lib's own handler changing runtime and architecture is explained", () => {
    const floor = withFunction(BUCKET_DEPLOYMENT, 'nodejs22.x');
    const newest = withFunction(BUCKET_DEPLOYMENT, 'nodejs24.x', { Architectures: ['arm64'] });
    const { explained, unexplained } = explainVersionDifferences(floor, newest, compareTemplates(floor, newest));
    expect(unexplained).toEqual([]);
    expect(explained.map((e) => e.why)).toEqual([
      expect.stringMatching(/CPU architecture/),
      expect.stringMatching(/default Node.js runtime/),
    ]);
  });

  test("the library's own function changing runtime is not", () => {
    const floor = withFunction('NodeDataVolumeLifecycleHandler1234ABCD', 'nodejs22.x');
    const newest = withFunction('NodeDataVolumeLifecycleHandler1234ABCD', 'nodejs24.x');
    expect(explainVersionDifferences(floor, newest, compareTemplates(floor, newest)).unexplained).toEqual([
      'Resources.NodeDataVolumeLifecycleHandler1234ABCD.Properties.Runtime: "nodejs22.x" != "nodejs24.x"',
    ]);
  });

  test('a new resource is not explained', () => {
    const floor = template();
    const newest = template({ Extra: { Type: 'AWS::SQS::Queue', Properties: {} } });
    expect(explainVersionDifferences(floor, newest, compareTemplates(floor, newest)).unexplained).toHaveLength(2);
  });
});
