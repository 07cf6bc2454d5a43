/**
 * Pure helpers that compare CloudFormation templates synthesized by the same
 * app in different languages. Asset hashes are masked; everything else
 * (resource types, counts, logical ids and properties) must match.
 */

/** A template as parsed JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ASSET_HASH = /\b[a-f0-9]{64}\b/g;

/** Resource types that record the synthesizing language/runtime and are dropped. */
const LANGUAGE_SPECIFIC_RESOURCES = new Set(['AWS::CDK::Metadata']);

/** Replaces asset hashes with a placeholder, recursively. */
export function maskAssetHashes(value: Json): Json {
  if (typeof value === 'string') return value.replace(ASSET_HASH, '<asset-hash>');
  if (Array.isArray(value)) return value.map(maskAssetHashes);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(ASSET_HASH, '<asset-hash>'), maskAssetHashes(v)]));
  }
  return value;
}

/** A template with asset hashes masked and language-specific resources removed. */
export function normalizeTemplate(template: Json): Json {
  const t = maskAssetHashes(template) as { [key: string]: Json };
  const resources = (t.Resources ?? {}) as { [key: string]: { [key: string]: Json } };
  const kept = Object.fromEntries(Object.entries(resources)
    .filter(([, r]) => !LANGUAGE_SPECIFIC_RESOURCES.has(String(r.Type))));
  const out: { [key: string]: Json } = { ...t, Resources: kept };
  if (out.Conditions && typeof out.Conditions === 'object' && !Array.isArray(out.Conditions)) {
    const conditions = Object.fromEntries(Object.entries(out.Conditions).filter(([k]) => k !== 'CDKMetadataAvailable'));
    if (Object.keys(conditions).length > 0) out.Conditions = conditions; else delete out.Conditions;
  }
  return out;
}

/** Resource counts per type, sorted by type. */
export function resourceTypeCounts(template: Json): Record<string, number> {
  const resources = ((template as { Resources?: Record<string, { Type: string }> }).Resources) ?? {};
  const counts: Record<string, number> = {};
  for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Paths (like `Resources.Foo.Properties.Bar`) where two JSON values differ. */
export function jsonDifferences(a: Json, b: Json, at = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${at}: array length ${a.length} != ${b.length}`];
    return a.flatMap((v, i) => jsonDifferences(v, b[i], `${at}[${i}]`));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      const p = at ? `${at}.${k}` : k;
      if (!(k in a)) return [`${p}: only in the second template`];
      if (!(k in b)) return [`${p}: only in the first template`];
      return jsonDifferences(a[k], b[k], p);
    });
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${at}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
}

/** Differences between two templates after normalization; empty when they match. */
export function compareTemplates(expected: Json, actual: Json): string[] {
  const a = normalizeTemplate(expected);
  const b = normalizeTemplate(actual);
  const countDiffs = jsonDifferences(resourceTypeCounts(a), resourceTypeCounts(b), 'resource counts');
  return [...countDiffs, ...jsonDifferences(a, b)];
}
