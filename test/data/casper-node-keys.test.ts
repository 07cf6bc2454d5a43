import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CasperNodeKeys } from '../../src';
import { nagFindings } from '../support/checks';
import { agnosticStack } from '../support/stacks';

describe('CasperNodeKeys', () => {
  test('a retained secret with a placeholder value and no key pair by default', () => {
    const stack = agnosticStack();
    const keys = new CasperNodeKeys(stack, 'Keys');
    const t = Template.fromStack(stack);
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ PasswordLength: 32 }) },
      DeletionPolicy: 'Retain',
    });
    t.resourceCountIs('AWS::EC2::KeyPair', 0);
    expect(keys.keyPair).toBeUndefined();
  });

  test('a key pair when SSH is wanted', () => {
    const stack = agnosticStack();
    const keys = new CasperNodeKeys(stack, 'Keys', { createSshKeyPair: true, removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(stack).hasResource('AWS::EC2::KeyPair', { Properties: { KeyType: 'ed25519' }, DeletionPolicy: 'Delete' });
    expect(keys.keyPair).toBeDefined();
  });

  test('grantReadWrite reaches this secret only', () => {
    const stack = agnosticStack();
    const keys = new CasperNodeKeys(stack, 'Keys');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    keys.grantReadWrite(role);
    const policy = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0];
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>;
    const actions = statements.flatMap((s) => s.Action).sort();
    expect(actions).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']);
    const secretRef = { Ref: stack.getLogicalId(keys.signingKeySecret.node.defaultChild as any) };
    for (const s of statements) expect(s.Resource).toEqual(secretRef);
  });

  test('cdk-nag clean (rotation acknowledged with a reason)', () => {
    const stack = agnosticStack();
    new CasperNodeKeys(stack, 'Keys', { createSshKeyPair: true });
    expect(nagFindings(stack)).toEqual([]);
  });
});
