import { CfnResource, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CasperNetwork, CasperNodeFleet, CasperReadOnlyNode } from '../../src';
import { skipAutoDeleteObjectsProvider, skipCheckov } from '../../src/private/checkov';
import { acknowledgeNagRules } from '../../src/private/nag';
import { agnosticStack } from '../support/stacks';

describe('skipCheckov', () => {
  test('writes Metadata.checkov.skip on the resource in the template', () => {
    const stack = agnosticStack();
    const bucket = new s3.Bucket(stack, 'B');
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', comment: 'no access logs here' }]);
    const id = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    expect(Template.fromStack(stack).toJSON().Resources[id].Metadata.checkov).toEqual({
      skip: [{ id: 'CKV_AWS_18', comment: 'no access logs here' }],
    });
  });

  test('merges with earlier skips; the same id twice stays one entry, with the last comment', () => {
    const stack = agnosticStack();
    const bucket = new s3.Bucket(stack, 'B');
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', comment: 'first' }, { id: 'CKV_AWS_21', comment: 'versioning' }]);
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', comment: 'second' }]);
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', comment: 'second' }]);
    expect((bucket.node.defaultChild as CfnResource).getMetadata('checkov')).toEqual({
      skip: [{ id: 'CKV_AWS_21', comment: 'versioning' }, { id: 'CKV_AWS_18', comment: 'second' }],
    });
  });

  test('reaches every CfnResource below the scope and nothing outside it', () => {
    const stack = agnosticStack();
    const scope = new Construct(stack, 'Scope');
    const bucket = new s3.Bucket(scope, 'B', { enforceSSL: true }); // bucket + bucket policy
    const role = new iam.Role(scope, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const outside = new s3.Bucket(stack, 'Outside');
    skipCheckov(scope, [{ id: 'CKV_AWS_1', comment: 'c' }]);

    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Metadata?: any }>;
    const skipped = Object.values(resources).filter((r) => r.Metadata?.checkov).map((r) => r.Type).sort();
    expect(skipped).toEqual(['AWS::IAM::Role', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy']);
    expect(resources[stack.getLogicalId(outside.node.defaultChild as s3.CfnBucket)].Metadata?.checkov).toBeUndefined();
    // Constructs that are not CloudFormation resources get no metadata entry.
    expect(bucket.node.metadata.some((m) => m.type === 'checkov')).toBe(false);
    expect(role.node.metadata.some((m) => m.type === 'checkov')).toBe(false);
  });

  test('leaves other metadata (cdk-nag suppressions) alone', () => {
    const stack = agnosticStack();
    const bucket = new s3.Bucket(stack, 'B');
    acknowledgeNagRules(bucket, [{ id: 'AwsSolutions-S1', reason: 'r' }]);
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', comment: 'c' }]);
    const cfn = bucket.node.defaultChild as CfnResource;
    expect(cfn.getMetadata('cdk_nag')).toEqual({ rules_to_suppress: [{ id: 'AwsSolutions-S1', reason: 'r' }] });
    expect(cfn.getMetadata('checkov')).toEqual({ skip: [{ id: 'CKV_AWS_18', comment: 'c' }] });
  });
});

describe('skips on functions aws-cdk-lib shares across a stack', () => {
  test('two buckets with autoDeleteObjects: the shared provider carries each skip once', () => {
    const stack = agnosticStack();
    for (const id of ['A', 'B']) {
      new s3.Bucket(stack, id, { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
      skipAutoDeleteObjectsProvider(stack.node.findChild(id));
    }
    const handler = stack.node.findChild('Custom::S3AutoDeleteObjectsCustomResourceProvider').node.findChild('Handler') as CfnResource;
    const ids = (handler.getMetadata('checkov').skip as Array<{ id: string }>).map((s) => s.id);
    expect(ids.sort()).toEqual(['CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_117']);
  });

  test('without such a bucket nothing is added', () => {
    const stack = agnosticStack();
    skipAutoDeleteObjectsProvider(new s3.Bucket(stack, 'A'));
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: any }>;
    expect(Object.values(resources).some((r) => r.Metadata?.checkov)).toBe(false);
  });
});

describe('skips in the example node', () => {
  test('every skip names a checkov check and gives a reason', () => {
    const stack = agnosticStack();
    new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, enableVpn: true, alertEmails: ['ops@example.com'] });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: any }>;
    const skips = Object.values(resources).flatMap((r) => (r.Metadata?.checkov?.skip ?? []) as Array<{ id: string; comment: string }>);
    expect(skips.length).toBeGreaterThan(0);
    for (const skip of skips) {
      expect(skip.id).toMatch(/^CKV_AWS_\d+$/);
      expect(skip.comment.length).toBeGreaterThan(40);
    }
  });
});

describe('skips in a fleet', () => {
  /** The load balancer's checkov skips: id and reason. */
  function loadBalancerSkips(props: { enableSse?: boolean; tls?: boolean }): Array<{ id: string; comment: string }> {
    const stack = agnosticStack();
    const tlsCertificate = props.tls
      ? acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/0b7a1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d')
      : undefined;
    const fleet = new CasperNodeFleet(stack, 'Fleet', {
      network: CasperNetwork.TESTNET, enableSse: props.enableSse, enableTls: props.tls, tlsCertificate,
    });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: any }>;
    return resources[stack.getLogicalId(fleet.loadBalancer.node.defaultChild as CfnResource)].Metadata?.checkov?.skip ?? [];
  }

  test('the load balancer skips only CKV_AWS_91 (access logs), with the reason for its listeners', () => {
    const plain = loadBalancerSkips({});
    expect(plain.map((s) => s.id)).toEqual(['CKV_AWS_91']);
    expect(plain[0].comment).toContain('plain TCP listeners (RPC on 7777) are never logged');
    expect(plain[0].comment).toContain('no TLS listener');

    const all = loadBalancerSkips({ enableSse: true, tls: true });
    expect(all.map((s) => s.id)).toEqual(['CKV_AWS_91']);
    expect(all[0].comment).toContain('(RPC on 7777 and SSE on 9999)');
    expect(all[0].comment).toContain('loadBalancer.logAccessLogs(bucket)');
  });
});
