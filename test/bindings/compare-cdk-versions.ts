/**
 * The smoke app's templates synthesized on the floor aws-cdk-lib against the
 * same app on the newest one. The library's own resources must not change; the
 * resources aws-cdk-lib adds for its own features (BucketDeployment, the
 * auto-delete-objects and log-retention providers, ...) may, and each such
 * difference is printed with the reason. Exits 1 on a difference no rule
 * explains: find its cause in aws-cdk-lib's CHANGELOG, then add a rule here and
 * a line in the README ("Tested aws-cdk-lib versions"), or fix the library.
 *
 * Usage: ts-node compare-cdk-versions.ts <floor version> <floor cdk.out> <newest version> <newest cdk.out>
 */
import * as fs from 'fs';
import * as path from 'path';
import { explainVersionDifferences } from './cdk-version-differences';
import { Json, compareTemplates } from './template-compare';

const [floorVersion, floorDir, newestVersion, newestDir] = process.argv.slice(2);
if (!newestDir) {
  console.error('usage: compare-cdk-versions.ts <floor version> <floor cdk.out> <newest version> <newest cdk.out>');
  process.exit(2);
}
const read = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8'));
const templates = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')).sort();

const schema = (dir: string) => String((read(path.join(dir, 'manifest.json')) as { version: string }).version);
console.log(`cloud assembly schema: ${schema(floorDir)} on aws-cdk-lib ${floorVersion}, ${schema(newestDir)} on ${newestVersion}` +
  (schema(floorDir) === schema(newestDir) ? '' : ' (the CDK CLI that deploys must know the newer schema: use a CLI at least as new as aws-cdk-lib)'));

let unexplainedTotal = 0;
const floorTemplates = templates(floorDir);
if (JSON.stringify(floorTemplates) !== JSON.stringify(templates(newestDir))) {
  console.log(`UNEXPLAINED: the stacks differ: ${floorTemplates.join(', ')} != ${templates(newestDir).join(', ')}`);
  unexplainedTotal++;
}
for (const file of floorTemplates.filter((f) => fs.existsSync(path.join(newestDir, f)))) {
  const floor = read(path.join(floorDir, file));
  const newest = read(path.join(newestDir, file));
  const { explained, unexplained } = explainVersionDifferences(floor, newest, compareTemplates(floor, newest));
  console.log(`${file}: ${explained.length + unexplained.length} difference(s), ${unexplained.length} unexplained`);
  for (const [why, diffs] of groupBy(explained)) {
    console.log(`  explained (${diffs.length}): ${why}`);
    for (const d of diffs.slice(0, 6)) console.log(`    ${d}`);
    if (diffs.length > 6) console.log(`    ... and ${diffs.length - 6} more`);
  }
  for (const d of unexplained.slice(0, 40)) console.log(`  UNEXPLAINED ${d}`);
  unexplainedTotal += unexplained.length;
}
if (unexplainedTotal > 0) {
  console.log(`${unexplainedTotal} difference(s) between aws-cdk-lib ${floorVersion} and ${newestVersion} are not explained ` +
    '(test/bindings/cdk-version-differences.ts)');
  process.exit(1);
}
console.log(`aws-cdk-lib ${floorVersion} -> ${newestVersion}: every difference is aws-cdk-lib's own (explained above)`);

function groupBy(items: { diff: string; why: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { diff, why } of items) out.set(why, [...(out.get(why) ?? []), diff]);
  return out;
}
