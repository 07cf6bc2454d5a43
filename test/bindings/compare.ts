/**
 * Compares the smoke app's templates: the first file (TypeScript) against each
 * of the others (Python, Go). Prints the differences and exits 1 on any.
 * Usage: ts-node compare.ts ts.template.json py.template.json go.template.json
 */
import * as fs from 'fs';
import { compareTemplates, Json, resourceTypeCounts } from './template-compare';

const [reference, ...others] = process.argv.slice(2);
if (!reference || others.length === 0) {
  console.error('usage: compare.ts <reference.template.json> <other.template.json>...');
  process.exit(2);
}
const read = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8'));
const expected = read(reference);
const counts = resourceTypeCounts(expected);
console.log(`reference ${reference}: ${Object.values(counts).reduce((a, b) => a + b, 0)} resources`);
let failed = false;
for (const file of others) {
  const diffs = compareTemplates(expected, read(file));
  if (diffs.length === 0) {
    console.log(`MATCH    ${file}`);
  } else {
    failed = true;
    console.log(`MISMATCH ${file}: ${diffs.length} difference(s)`);
    for (const d of diffs.slice(0, 40)) console.log(`  ${d}`);
  }
}
process.exit(failed ? 1 : 0);
