import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './support/python-tools';

interface JsiiProperty {
  readonly name: string;
  readonly optional?: boolean;
  readonly docs?: { readonly default?: string; readonly summary?: string };
}
interface JsiiType {
  readonly fqn: string;
  readonly name: string;
  readonly kind: string;
  readonly datatype?: boolean;
  readonly docs?: { readonly summary?: string };
  readonly properties?: JsiiProperty[];
}

// `npm test` compiles first, so .jsii describes the current public API.
const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };
const types = Object.values(assembly.types);
const apiMd = fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8');

describe('public API documentation', () => {
  test('the assembly exports the network constructs', () => {
    expect(types.map((t) => t.name)).toEqual(expect.arrayContaining(
      ['CasperNetwork', 'CasperVpc', 'CasperNodeSecurityGroup', 'CasperElasticIp', 'SshAccess']));
  });

  test.each(types.map((t) => [t.name, t] as const))('API.md documents %s', (_name, type) => {
    const documented = apiMd.includes(`id="${type.fqn}"`);
    expect({ type: type.fqn, documented, fix: documented ? '' : 'run: npx projen docgen' })
      .toEqual({ type: type.fqn, documented: true, fix: '' });
  });

  test.each(types.map((t) => [t.name, t] as const))('%s has a summary', (_name, type) => {
    expect(type.docs?.summary ?? '').not.toBe('');
  });

  const optionalProps = types.filter((t) => t.datatype)
    .flatMap((t) => (t.properties ?? []).filter((p) => p.optional).map((p) => [`${t.name}.${p.name}`, p] as const));
  test.each(optionalProps)('optional prop %s documents its @default', (_name, prop) => {
    expect(prop.docs?.default ?? '').not.toBe('');
  });
});
