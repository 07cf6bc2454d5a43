/**
 * Why a template synthesized on a newer aws-cdk-lib may differ from the floor's:
 * only in what aws-cdk-lib synthesizes for its own features. Each rule names
 * the change; test/bindings/compare-cdk-versions.ts prints the differences by
 * rule and fails on any no rule explains. The README ("Tested aws-cdk-lib
 * versions") lists the same reasons.
 */
import { Json } from './template-compare';

/**
 * Logical ids of resources aws-cdk-lib adds for its own features, not the
 * library's: the BucketDeployment handler and its role, the auto-delete-objects
 * and log-retention providers, the AwsCustomResource singleton, the VPC
 * default-security-group restrictor.
 */
const CDK_OWNED_IDS: RegExp[] = [
  /^CustomCDKBucketDeployment[0-9A-F]{32}/,
  /^CustomS3AutoDeleteObjectsCustomResourceProvider/,
  /^CustomVpcRestrictDefaultSGCustomResourceProvider/,
  /^LogRetention[0-9a-f]{32}/,
  /^AWS679f53fac002430cb0da5b7982bd2287/,
];

interface Rule {
  readonly why: string;
  /** Whether the rule explains this difference (a line from compareTemplates) of the resource `id`. */
  readonly matches: (diff: string, id: string | undefined) => boolean;
}

const cdkOwned = (id: string | undefined) => id !== undefined && CDK_OWNED_IDS.some((re) => re.test(id));
const property = (diff: string, name: string) => new RegExp(`^Resources\\.[^.]+\\.Properties\\.${name}(\\.|\\[|:)`).test(diff);

export const RULES: Rule[] = [
  {
    why: "aws-cdk-lib's own handlers follow its default Node.js runtime (AwsCustomResource, the VPC default-security-group restrictor, auto-delete-objects, log-retention: nodejs22.x -> nodejs24.x)",
    matches: (diff, id) => cdkOwned(id) && property(diff, 'Runtime'),
  },
  {
    why: "aws-cdk-lib's own handlers: CPU architecture (newer aws-cdk-lib runs the BucketDeployment handler on arm64)",
    matches: (diff, id) => cdkOwned(id) && property(diff, 'Architectures'),
  },
  {
    why: "aws-cdk-lib's own handlers: memory size and the rest of their configuration as aws-cdk-lib defines it (newer aws-cdk-lib gives the BucketDeployment handler 1024 MB)",
    matches: (diff, id) => cdkOwned(id) && /^Resources\.[^.]+\.(Properties\.(Code|Layers|MemorySize|Timeout|Environment|LoggingConfig|Handler)|DependsOn)/.test(diff),
  },
  {
    why: "aws-cdk-lib's default role of a Step Functions state machine: newer aws-cdk-lib adds confused-deputy conditions (aws:SourceAccount, aws:SourceArn of this account's state machines) to its trust policy",
    matches: (diff, id) => id !== undefined && /WorkflowRole[0-9A-F]{8}$/.test(id)
      && /^Resources\.[^.]+\.Properties\.AssumeRolePolicyDocument\.Statement\[0\]\.Condition(:|\.)/.test(diff),
  },
];

/** The resource a difference line is about, when it is about one. */
export function resourceOf(diff: string): string | undefined {
  return /^Resources\.([^.:[\s]+)/.exec(diff)?.[1];
}

/** Splits differences into the ones a rule explains (with its reason) and the rest. */
export function explainVersionDifferences(_floor: Json, _newest: Json, diffs: string[]): {
  explained: { diff: string; why: string }[];
  unexplained: string[];
} {
  const explained: { diff: string; why: string }[] = [];
  const unexplained: string[] = [];
  for (const diff of diffs) {
    const rule = RULES.find((r) => r.matches(diff, resourceOf(diff)));
    if (rule) explained.push({ diff, why: rule.why }); else unexplained.push(diff);
  }
  return { explained, unexplained };
}
