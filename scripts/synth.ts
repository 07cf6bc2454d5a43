/**
 * `npm run synth`: synthesizes the example testnet node app offline into
 * cdk.out/, runs cdk-nag over it, and prints a one-screen summary.
 * Exits non-zero when cdk-nag reports an unacknowledged finding.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { renderSummary, StackSummary } from './synth-summary';
import { buildApp } from '../examples/testnet-node';

const outdir = path.resolve(process.argv[2] ?? 'cdk.out');
fs.rmSync(outdir, { recursive: true, force: true });
const app = buildApp(new App({ outdir }));
const assembly = app.synth();

const summaries: StackSummary[] = assembly.stacks.map((artifact) => {
  const stack = app.node.findChild(artifact.stackName) as Stack;
  const report = new AwsSolutionsChecks().validateScope(stack);
  return {
    stackName: artifact.stackName,
    templateFile: path.relative(process.cwd(), path.join(outdir, artifact.templateFile)),
    template: artifact.template,
    nagFindings: report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  };
});

console.log(renderSummary(summaries));
if (summaries.some((s) => s.nagFindings.length > 0)) {
  process.exitCode = 1;
}
