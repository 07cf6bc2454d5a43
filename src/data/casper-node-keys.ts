import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { skipCheckov } from '../private/checkov';
import { acknowledgeNagRules } from '../private/nag';

/**
 * Properties of `CasperNodeKeys`.
 */
export interface CasperNodeKeysProps {
  /**
   * Create an EC2 key pair for SSH. Its private key is stored by EC2 in SSM
   * Parameter Store as `/ec2/keypair/<key pair id>`.
   *
   * @default false - no key pair (SSM Session Manager needs none)
   */
  readonly createSshKeyPair?: boolean;

  /**
   * KMS key that encrypts the signing-key secret.
   *
   * @default - the account's AWS managed key for Secrets Manager
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the signing-key secret (and the key pair) when they leave
   * the stack. Losing the secret gives the node a new identity.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The node's key material.
 *
 * The Casper signing key lives in a Secrets Manager secret. CloudFormation
 * creates the secret with a random placeholder; the node's bootstrap fills it
 * at first boot (`casper-client keygen`) and restores the key from it on every
 * later boot, so a replacement instance keeps the node's identity. Give the
 * node's role access with `grantReadWrite()` — to this secret only.
 */
export class CasperNodeKeys extends Construct {
  /** The secret holding the node's signing key (JSON: secret_key_pem, public_key_pem, public_key_hex). */
  public readonly signingKeySecret: secretsmanager.ISecret;

  /** The EC2 key pair; undefined unless `createSshKeyPair` is true. */
  public readonly keyPair?: ec2.KeyPair;

  constructor(scope: Construct, id: string, props: CasperNodeKeysProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const secret = new secretsmanager.Secret(this, 'SigningKey', {
      description: 'Casper node signing key (secret_key_pem, public_key_pem, public_key_hex); written by the node at first boot',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      // A random placeholder without "secret_key_pem": the bootstrap treats it as empty.
      generateSecretString: { excludePunctuation: true, passwordLength: 32 },
    });
    this.signingKeySecret = secret;
    acknowledgeNagRules(secret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'The node signing key is its identity on the network; rotating it would make the node a different node, so it is not rotated automatically.',
    }]);
    if (!props.encryptionKey) {
      skipCheckov(secret.node.defaultChild!, [{
        id: 'CKV_AWS_149',
        comment: 'Encrypted with the AWS managed key for Secrets Manager by default; IAM decides who reads it (grantReadWrite gives '
          + 'the node role this secret only). It is a read-only node\'s network identity, staking nothing; pass encryptionKey for a customer-managed key.',
      }]);
    }

    if (props.createSshKeyPair) {
      const keyPair = new ec2.KeyPair(this, 'SshKeyPair', { type: ec2.KeyPairType.ED25519 });
      keyPair.applyRemovalPolicy(removalPolicy);
      this.keyPair = keyPair;
    }
  }

  /**
   * Lets a principal read the signing key and store a new one (the bootstrap
   * at first boot): GetSecretValue, DescribeSecret and PutSecretValue on this
   * secret only.
   */
  public grantReadWrite(grantee: iam.IGrantable): void {
    this.signingKeySecret.grantRead(grantee);
    iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['secretsmanager:PutSecretValue'],
      resourceArns: [this.signingKeySecret.secretArn],
      resource: this.signingKeySecret,
    });
    this.signingKeySecret.encryptionKey?.grantEncrypt(grantee);
  }
}
