import { Names } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperValidationError, Owner } from './validation';

/**
 * Rejects half-given or malformed Slack ids (both or neither), before anything is built.
 */
export function validateSlack(owner: Owner, workspaceId: string | undefined, channelId: string | undefined): void {
  if ((workspaceId === undefined) !== (channelId === undefined)) {
    const [prop, value] = workspaceId === undefined ? ['slackWorkspaceId', workspaceId] : ['slackChannelId', channelId];
    throw new CasperValidationError(owner, prop, value, 'is required with the other Slack prop: give slackWorkspaceId and slackChannelId together');
  }
  if (workspaceId !== undefined && !/^[0-9A-Z]{1,255}$/.test(workspaceId)) {
    throw new CasperValidationError(owner, 'slackWorkspaceId', workspaceId, 'must be a Slack workspace ID such as "T0123ABCDEF" (capital letters and digits)');
  }
  if (channelId !== undefined && !/^[A-Za-z0-9]{1,255}$/.test(channelId)) {
    throw new CasperValidationError(owner, 'slackChannelId', channelId, 'must be a Slack channel ID such as "C0123ABCDEF" (letters and digits), not its name');
  }
}

/**
 * An AWS Chatbot Slack channel that posts what the topic receives. Notifications
 * only: its role has no permissions, and its guardrail denies every action, so
 * no one can run AWS commands from the channel.
 */
export function slackChannel(scope: Construct, id: string, topic: sns.ITopic, workspaceId: string,
  channelId: string): chatbot.SlackChannelConfiguration {
  const guardrail = new iam.ManagedPolicy(scope, `${id}Guardrail`, {
    description: 'Guardrail of the Casper alert Slack channel: notifications only, no AWS actions from Slack',
    statements: [new iam.PolicyStatement({ sid: 'NotificationsOnly', effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] })],
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
    description: 'AWS Chatbot role of the Casper alert Slack channel; no permissions (notifications need none)',
  });
  return new chatbot.SlackChannelConfiguration(scope, id, {
    slackChannelConfigurationName: Names.uniqueResourceName(scope, { maxLength: 128, separator: '-' }),
    slackWorkspaceId: workspaceId,
    slackChannelId: channelId,
    notificationTopics: [topic],
    role,
    guardrailPolicies: [guardrail],
    userRoleRequired: false,
  });
}
