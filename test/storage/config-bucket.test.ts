import * as fs from 'fs';
import * as path from 'path';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ConfigBucket } from '../../src';
import { expectNagAndCfnLintClean } from '../support/checks';
import { agnosticStack, assetFiles, expectRejected } from '../support/stacks';

const FIXTURE_SCRIPTS = path.join(__dirname, '..', 'fixtures', 'config-bucket');

describe('ConfigBucket', () => {
  test('encrypted, TLS-only, versioned, private, retained', () => {
    const stack = agnosticStack();
    new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('deploys the scripts and a rendered config.json under the prefix', () => {
    const stack = agnosticStack();
    const cb = new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS, nodeConfig: { nodeName: 'n1', secret: 'arn:x' } });
    const t = Template.fromStack(stack);
    const deploy = Object.values(t.findResources('Custom::CDKBucketDeployment'))[0];
    expect(deploy.Properties.DestinationBucketKeyPrefix).toBe('node/');
    expect(deploy.Properties.SourceObjectKeys).toHaveLength(2);
    expect(assetFiles(stack, 'config.json')).toEqual([{ nodeName: 'n1', secret: 'arn:x' }]);
    expect(cb.keyFor('config.json')).toBe('node/config.json');
    expect(stack.resolve(cb.s3UrlFor('bootstrap.sh'))).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: stack.getLogicalId(cb.bucket.node.defaultChild as s3.CfnBucket) }, '/node/bootstrap.sh']],
    });
  });

  test('by default deploys the node scripts with the shell library they source (lib.sh) beside them', () => {
    const stack = agnosticStack();
    new ConfigBucket(stack, 'Config');
    const deploy = Object.values(Template.fromStack(stack).findResources('Custom::CDKBucketDeployment'))[0];
    expect(deploy.Properties.DestinationBucketKeyPrefix).toBe('node/');
    expect(deploy.Properties.SourceObjectKeys).toHaveLength(2);
    const out = (stack.node.root as App).synth().directory;
    const staged = fs.readdirSync(out).filter((d) => d.startsWith('asset.') && fs.statSync(path.join(out, d)).isDirectory())
      .map((d) => fs.readdirSync(path.join(out, d)).sort());
    expect(staged).toContainEqual(['lib.sh']);
    expect(staged.filter((files) => files.includes('bootstrap.sh') && files.includes('protocols.sh'))).toHaveLength(1);
  });

  test('grantRead is limited to the prefix', () => {
    const stack = agnosticStack();
    const cb = new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    cb.grantRead(role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }] } });
    const bucketId = stack.getLogicalId(cb.bucket.node.defaultChild as s3.CfnBucket);
    expect(Object.values(policies)[0].Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/node/*']] },
      },
      {
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['node/*'] } },
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
      },
    ]);
  });

  test('auto-delete only with DESTROY', () => {
    const stack = agnosticStack();
    new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS, removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
    Template.fromStack(stack).resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  test('cdk-nag and cfn-lint clean', () => {
    const stack = agnosticStack();
    new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS, nodeConfig: { a: 1 } });
    expectNagAndCfnLintClean(stack);
  });

  describe('bad input', () => {
    test('autoDeleteObjects with RETAIN', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS, autoDeleteObjects: true }),
        'ConfigBucket: invalid autoDeleteObjects true: is only allowed together with removalPolicy: RemovalPolicy.DESTROY');
    });

    test.each(['node', '/node/', 'a b/', ''])('key prefix %p', (keyPrefix) => {
      const stack = agnosticStack();
      expectRejected(stack, () => new ConfigBucket(stack, 'Config', { scriptsPath: FIXTURE_SCRIPTS, keyPrefix }),
        `ConfigBucket: invalid keyPrefix ${JSON.stringify(keyPrefix)}: must be one or more path segments`);
    });
  });
});
