import * as iam from 'aws-cdk-lib/aws-iam';
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

/** Lets an instance role's SSM agent serve Session Manager (see `SESSION_MANAGER_ACTIONS`). */
export function allowSessionManager(role: iam.Role): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'SessionManager',
    actions: SESSION_MANAGER_ACTIONS,
    resources: ['*'],
  }));
  acknowledgeNagRules(role, [{
    id: 'AwsSolutions-IAM5',
    reason: 'Session Manager: the ssmmessages channel actions have no resource type, and the SSM agent calls ssm:UpdateInstanceInformation '
      + 'for the instance it runs on; this is the minimal instance policy AWS documents for Session Manager (no parameters, no Run Command).',
    appliesTo: ['Resource::*'],
  }]);
}
