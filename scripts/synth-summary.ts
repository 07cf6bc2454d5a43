/**
 * Pure helpers that turn a synthesized stack into the one-screen summary
 * `npm run synth` prints. Kept free of I/O so the tests can check them.
 */

/** A CloudFormation template, as far as the summary reads it. */
export interface TemplateLike {
  readonly Description?: string;
  readonly Resources?: Record<string, { readonly Type: string }>;
  readonly Outputs?: Record<string, { readonly Description?: string }>;
  readonly Parameters?: Record<string, unknown>;
}

/** What one stack's summary says. */
export interface StackSummary {
  readonly stackName: string;
  readonly templateFile: string;
  readonly template: TemplateLike;
  /** Unacknowledged cdk-nag findings as `rule at path`. */
  readonly nagFindings: string[];
}

/** Counts resources per type, most frequent first, then by name. */
export function countResourceTypes(template: TemplateLike): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const r of Object.values(template.Resources ?? {})) {
    counts.set(r.Type, (counts.get(r.Type) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Renders the summary text for the given stacks. */
export function renderSummary(stacks: StackSummary[]): string {
  const lines: string[] = [];
  for (const s of stacks) {
    const types = countResourceTypes(s.template);
    const total = types.reduce((n, [, c]) => n + c, 0);
    lines.push(`Stack ${s.stackName}  ->  ${s.templateFile}`);
    if (s.template.Description) lines.push(`  ${s.template.Description}`);
    lines.push(`  ${total} resources of ${types.length} types:`);
    for (const [type, count] of types) lines.push(`    ${String(count).padStart(3)}  ${type}`);
    const outputs = Object.entries(s.template.Outputs ?? {});
    if (outputs.length > 0) {
      lines.push(`  outputs: ${outputs.map(([name]) => name).join(', ')}`);
    }
    const params = Object.keys(s.template.Parameters ?? {}).filter((p) => p !== 'BootstrapVersion');
    if (params.length > 0) lines.push(`  parameters: ${params.join(', ')}`);
    lines.push(s.nagFindings.length === 0
      ? '  cdk-nag AwsSolutions: no unacknowledged findings'
      : `  cdk-nag AwsSolutions: ${s.nagFindings.length} unacknowledged finding(s):`);
    for (const f of s.nagFindings) lines.push(`    ${f}`);
  }
  return lines.join('\n');
}
