import { AspectPriority, Aspects, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Resource `Metadata` keys read only by scanners (cdk-nag 2, checkov), never by CloudFormation. */
const SCANNER_METADATA_KEYS = ['cdk_nag', 'checkov'];

/**
 * Leaves the scanner acknowledgments out of a test stack's template. They change often
 * (a reworded reason, one more skipped check) without changing anything deployed, and
 * each such change would otherwise fail the snapshot verification of every integ test.
 * They are covered by the compliance unit tests instead.
 */
class WithoutScannerMetadata implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    const metadata = node.cfnOptions.metadata;
    if (!metadata) return;
    for (const key of SCANNER_METADATA_KEYS) delete metadata[key];
    if (Object.keys(metadata).length === 0) node.cfnOptions.metadata = undefined;
  }
}

/** Strips the scanner metadata from every resource of `stack` at synth. */
export function withoutScannerMetadata<T extends Stack>(stack: T): T {
  // Runs after the default and mutating aspects, so nothing adds metadata afterwards.
  Aspects.of(stack).add(new WithoutScannerMetadata(), { priority: AspectPriority.READONLY });
  return stack;
}
