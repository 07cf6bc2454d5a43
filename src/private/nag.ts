import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag rule that a construct knowingly does not follow, and why. */
export interface NagAcknowledgment {
  /** Rule id, e.g. `AwsSolutions-EC23`. */
  readonly id: string;
  /** Why the finding does not apply or is accepted. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag rules on a construct and everything below it.
 *
 * cdk-nag 3 reads CDK's `Validations` acknowledgments; cdk-nag 2 reads the
 * `cdk_nag` metadata on each CloudFormation resource. Writing both keeps the
 * library free of a cdk-nag dependency and quiet under either major version.
 */
export function acknowledgeNagRules(scope: IConstruct, rules: NagAcknowledgment[]): void {
  Validations.of(scope).acknowledge(...rules.map((r) => ({ id: r.id, reason: r.reason })));
  for (const child of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(child)) continue;
    const existing = (child.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as NagAcknowledgment[];
    const merged = [...existing.filter((e) => !rules.some((r) => r.id === e.id)), ...rules];
    child.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}
