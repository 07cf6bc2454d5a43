import { RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { ownerOf, validateNodeName } from '../private/validation';

/**
 * Properties of a `CasperElasticIp`.
 */
export interface CasperElasticIpProps {
  /**
   * The node this address belongs to; tagged as `casper:node` and used in the
   * `Name` tag. Letters, digits and `-`; 1 to 63 characters.
   *
   * @default 'casper-node'
   */
  readonly nodeName?: string;

  /**
   * What happens to the address when it leaves the stack. Peers and clients
   * know the node by this IP, so it is kept by default.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A stable public IPv4 address for the node. It is not bound to an instance
 * here: the data-volume lifecycle handler associates it with whichever
 * instance the Auto Scaling group launches, so the address follows the node
 * across replacements.
 */
export class CasperElasticIp extends Construct {
  /** The underlying `AWS::EC2::EIP`. */
  public readonly resource: ec2.CfnEIP;

  /** The allocation id (`eipalloc-...`), for association. */
  public readonly allocationId: string;

  /** The public IPv4 address. */
  public readonly publicIp: string;

  constructor(scope: Construct, id: string, props: CasperElasticIpProps = {}) {
    super(scope, id);
    const nodeName = props.nodeName ?? 'casper-node';
    validateNodeName(ownerOf(this, 'CasperElasticIp'), 'nodeName', nodeName);

    this.resource = new ec2.CfnEIP(this, 'Resource', { domain: 'vpc' });
    this.resource.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    Tags.of(this.resource).add('Name', `${nodeName}-eip`);
    Tags.of(this.resource).add('casper:node', nodeName);
    this.allocationId = this.resource.attrAllocationId;
    this.publicIp = this.resource.attrPublicIp;
  }
}
