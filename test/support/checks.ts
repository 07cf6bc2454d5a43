import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { requireVenvTool } from './python-tools';

/** One cdk-nag finding that was not acknowledged. */
export interface NagFinding {
  readonly rule: string;
  readonly path: string;
  readonly description: string;
}

/** Runs the cdk-nag AwsSolutions pack over a stack; returns unacknowledged findings. */
export function nagFindings(stack: Stack): NagFinding[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => ({
    rule: v.ruleName,
    path: r.constructPath ?? '?',
    description: v.description,
  })));
}

/** Result of cfn-lint over one template. */
export interface CfnLintResult {
  readonly exitCode: number;
  readonly errors: CfnLintMatch[];
  readonly warnings: CfnLintMatch[];
  readonly output: string;
}

/** One cfn-lint match, as its JSON output gives it. */
export interface CfnLintMatch {
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: Array<string | number> };
}

/** A cfn-lint warning that is understood and accepted, with the reason. */
export interface AcceptedWarning {
  readonly rule: string;
  /** Applies to matches whose resource logical id starts with this. */
  readonly resourcePrefix: string;
  /** And, when given, whose message matches this. */
  readonly message?: RegExp;
  readonly reason: string;
}

/**
 * cfn-lint warnings accepted across the suite. Each names where it comes from
 * and why it is not fixed; anything else fails the test.
 */
export const ACCEPTED_CFN_LINT_WARNINGS: AcceptedWarning[] = [
  {
    rule: 'W3005',
    resourcePrefix: 'CustomVpcRestrictDefaultSGCustomResourceProvider',
    reason: 'aws-cdk-lib emits a redundant DependsOn in its own custom resource provider; harmless and not ours to change',
  },
  {
    rule: 'W3005',
    resourcePrefix: 'CustomCDKBucketDeployment',
    reason: 'aws-cdk-lib emits a redundant DependsOn in its BucketDeployment singleton handler; harmless and not ours to change',
  },
  {
    rule: 'W3005',
    resourcePrefix: '',
    message: /^'[A-Za-z0-9]*Role[0-9A-F]{8}' dependency already enforced by a 'GetAtt' at 'Resources\/[A-Za-z0-9]+\/Properties\/Role(Arn)?'$/,
    reason: 'aws-cdk-lib makes every Lambda function and state machine depend on its role explicitly as well as through Role/RoleArn; harmless',
  },
  {
    rule: 'W3010',
    resourcePrefix: '',
    reason: 'in a stack with a concrete region, CasperVpc takes literal AZ names from the CDK context lookup by design',
  },
];

/** Warnings not covered by an accepted entry. */
export function unexplainedWarnings(result: CfnLintResult, accepted = ACCEPTED_CFN_LINT_WARNINGS): CfnLintMatch[] {
  return result.warnings.filter((w) => !accepted.some((a) =>
    a.rule === w.Rule.Id && String(w.Location.Path[1] ?? '').startsWith(a.resourcePrefix) &&
    (a.message === undefined || a.message.test(w.Message))));
}

/**
 * Runs cfn-lint (from the project venv) over a stack's synthesized template.
 * cfn-lint's exit code is a bit field: 2 errors, 4 warnings, 8 informational.
 */
export function cfnLint(stack: Stack): CfnLintResult {
  const cfnLintBin = requireVenvTool('cfn-lint');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  const file = path.join(dir, `${stack.stackName}.template.json`);
  fs.writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON(), undefined, 1));
  try {
    const r = spawnSync(cfnLintBin, ['--format', 'json', '--', file], { encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status === 1 || r.status === null) {
      throw new Error(`cfn-lint failed to run (exit ${r.status}): ${r.stderr}`);
    }
    const matches = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as CfnLintMatch[];
    return {
      exitCode: r.status,
      errors: matches.filter((m) => m.Level === 'Error'),
      warnings: matches.filter((m) => m.Level === 'Warning'),
      output: r.stdout,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts that cfn-lint finds no error, and no warning that ACCEPTED_CFN_LINT_WARNINGS does not explain, in the stack's template. */
export function expectCfnLintClean(stack: Stack): void {
  const lint = cfnLint(stack);
  expect(lint.errors).toEqual([]);
  expect(unexplainedWarnings(lint)).toEqual([]);
}

/** Asserts that cdk-nag (AwsSolutions) has no unacknowledged finding in the stack and that cfn-lint is clean (expectCfnLintClean). */
export function expectNagAndCfnLintClean(stack: Stack): void {
  expect(nagFindings(stack)).toEqual([]);
  expectCfnLintClean(stack);
}
