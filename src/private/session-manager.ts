import * as iam from 'aws-cdk-lib/aws-iam';
import { skipCheckov } from './checkov';
import { acknowledgeNagRules } from './nag';

/**
 * What the SSM agent of an instance needs for Session Manager, and nothing
 * else: the heartbeat that keeps the instance online
 * (`ssm:UpdateInstanceInformation`) and the session channels
 * (`ssmmessages:*Channel`). This is the set the Systems Manager user guide
 * gives as the minimal Session Manager permissions of an instance ("Create a
 * custom IAM role for Session Manager"; also the AWS managed
 * AWSCloud9SSMInstanceProfile). Unlike AmazonSSMManagedInstanceCore it grants
 * no `ssm:GetParameter(s)` on every parameter of the account, no Run Command
 * (`ec2messages:*`), State Manager, inventory or patching. Session logs to S3
 * and KMS-encrypted sessions are not configured, so no S3 or KMS permission.
 */
export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/**
 * Lets an instance role's SSM agent serve Session Manager (see
 * `SESSION_MANAGER_ACTIONS`), in a policy of its own so that what cdk-nag and
 * checkov are told about it applies to these five actions only.
 */
export function allowSessionManager(role: iam.Role): iam.Policy {
  const policy = new iam.Policy(role, 'SessionManagerPolicy', {
    roles: [role],
    statements: [new iam.PolicyStatement({ sid: 'SessionManager', actions: SESSION_MANAGER_ACTIONS, resources: ['*'] })],
  });
  const why = 'Session Manager: the ssmmessages channel actions have no resource type, and the SSM agent calls ssm:UpdateInstanceInformation '
    + 'for the instance it runs on; this is the minimal instance policy AWS documents for Session Manager (no parameters, no Run Command), '
    + 'and only an EC2 instance can use the role.';
  acknowledgeNagRules(policy, [{ id: 'AwsSolutions-IAM5', reason: why, appliesTo: ['Resource::*'] }]);
  skipCheckov(policy.node.defaultChild!, [{ id: 'CKV_AWS_111', comment: why }]);
  return policy;
}
