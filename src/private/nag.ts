import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag rule that a construct knowingly does not follow, and why. */
export interface NagAcknowledgment {
  /** Rule id, e.g. `AwsSolutions-EC23`. */
  readonly id: string;
  /** Why the finding does not apply or is accepted. */
  readonly reason: string;
  /**
   * For granular rules (IAM4, IAM5): the exact findings acknowledged, such as
   * `Action::s3:GetObject*` or `Resource::<MyBucket.Arn>/node/*`. Anything
   * else the rule finds still fails.
   */
  readonly appliesTo?: string[];
}

/** Why the bundled handlers stay on Node.js 22 although cdk-nag asks for the newest runtime. */
export const PINNED_NODE_RUNTIME: NagAcknowledgment = {
  id: 'AwsSolutions-L1',
  reason: 'The handlers are pinned to Node.js 22 (bundled and tested for it); the runtime moves with the project, not implicitly.',
};

/**
 * Acknowledges cdk-nag rules on a construct and everything below it.
 *
 * cdk-nag 3 reads CDK's `Validations` acknowledgments (granular findings by
 * their full id `Rule[Finding]`); cdk-nag 2 reads the `cdk_nag` metadata on
 * each CloudFormation resource. Writing both keeps the library free of a
 * cdk-nag dependency and quiet under either major version.
 */
export function acknowledgeNagRules(scope: IConstruct, rules: NagAcknowledgment[]): void {
  const plain = rules.filter((r) => !r.appliesTo);
  if (plain.length > 0) Validations.of(scope).acknowledge(...plain.map((r) => ({ id: r.id, reason: r.reason })));
  // Granular ids contain '::' ("Action::s3:GetObject*"), which Validations.acknowledge()
  // refuses in this aws-cdk-lib; write the same metadata entry it would, which
  // is what cdk-nag reads (Validations.ACKNOWLEDGED_RULES_METADATA_KEY).
  const granular = Object.fromEntries(rules.flatMap((r) => (r.appliesTo ?? [])
    .map((finding) => [`annotation::${r.id}[${finding}]`, r.reason])));
  if (Object.keys(granular).length > 0) {
    scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, granular);
  }
  const v2 = rules.map((r) => (r.appliesTo ? { id: r.id, reason: r.reason, applies_to: r.appliesTo } : { id: r.id, reason: r.reason }));
  for (const child of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(child)) continue;
    const existing = (child.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as Array<{ id: string }>;
    const merged = [...existing.filter((e) => !v2.some((r) => r.id === e.id)), ...v2];
    child.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}

/**
 * Names a resource ARN (or any string) the way cdk-nag's IAM findings do:
 * `Ref` becomes `<LogicalId>`, `Fn::GetAtt` `<LogicalId.Attribute>`, pseudo
 * parameters `<AWS::Region>` (also inside `Fn::Sub`), and `Fn::Join` pieces
 * are concatenated.
 */
export function nagFindingName(scope: IConstruct, value: string): string {
  return render(Stack.of(scope).resolve(value));
}

/** Like `nagFindingName`, for an already resolved CloudFormation value. */
export function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, any>;
    if ('Ref' in o) return `<${o.Ref}>`;
    if ('Fn::GetAtt' in o) return `<${o['Fn::GetAtt'][0]}.${o['Fn::GetAtt'][1]}>`;
    if ('Fn::Join' in o) return (o['Fn::Join'][1] as unknown[]).map(render).join(o['Fn::Join'][0]);
    if ('Fn::Sub' in o && typeof o['Fn::Sub'] === 'string') return o['Fn::Sub'].replace(/\$\{([^}]+)\}/g, '<$1>');
  }
  return JSON.stringify(v);
}
