import { Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** The group a DataVolumeLifecycle serves, and the VPC it lives in. */
export interface LifecycleGroup {
  readonly vpc: ec2.Vpc;
  readonly asg: autoscaling.AutoScalingGroup;
}

/**
 * A VPC of public subnets only (no NAT gateway) and an Auto Scaling group of
 * exactly `capacity` instances in them, launched from an IMDSv2 launch
 * template (m6a.2xlarge, Amazon Linux 2023): the group a DataVolumeLifecycle
 * is attached to, one node (capacity 1) or a fleet's members.
 */
export function lifecycleGroup(stack: Stack, capacity = 1): LifecycleGroup {
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
  const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    launchTemplate: new ec2.LaunchTemplate(stack, 'Lt', {
      instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), requireImdsv2: true,
    }),
    minCapacity: capacity,
    maxCapacity: capacity,
  });
  return { vpc, asg };
}
