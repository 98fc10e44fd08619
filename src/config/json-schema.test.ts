import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { configJsonSchema, configJsonSchemaText, CONFIG_SCHEMA_ID } from './json-schema.js';
import { parseConfigText } from './load.js';
import { allowedKeys } from './schema-problems.js';
import { configSchema } from './schema.js';
import { JSON_SCHEMA_FILE } from './write-json-schema.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  propertyNames?: JsonSchema;
};

const DOCS = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const docsText = readFileSync(DOCS, 'utf8');
/** The first YAML block of docs/configuration.md: the complete example. */
const docsExample = /```yaml\n([\s\S]*?)```/.exec(docsText)![1]!;

/**
 * The structural part of JSON Schema that editors rely on: types, enums, patterns, required and
 * unknown keys. Returns the paths it rejects (empty when the value fits).
 */
function structuralErrors(schema: JsonSchema, value: unknown, path = '$'): string[] {
  if (schema.anyOf)
    return schema.anyOf.some((s) => structuralErrors(s, value, path).length === 0) ? [] : [`${path}: matches no alternative`];
  const type = Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'number' && Number.isInteger(value)
        ? 'integer'
        : typeof value;
  const types = [schema.type ?? []].flat();
  if (types.length > 0 && !types.includes(type) && !(type === 'integer' && types.includes('number')))
    return [`${path}: ${type} is not ${types.join('|')}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: not in enum`];
  if (schema.const !== undefined && schema.const !== value) return [`${path}: not the constant`];
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern, 'u').test(value))
    return [`${path}: does not match ${schema.pattern}`];
  if (type !== 'object') return [];
  const object = value as Record<string, unknown>;
  const errors = (schema.required ?? []).filter((k) => !(k in object)).map((k) => `${path}.${k}: required`);
  for (const [key, child] of Object.entries(object)) {
    const sub = schema.properties?.[key] ?? schema.additionalProperties;
    if (sub === false || sub === undefined) errors.push(`${path}.${key}: unknown key`);
    else if (sub !== true) errors.push(...structuralErrors(sub, child, `${path}.${key}`));
    if (schema.propertyNames) errors.push(...structuralErrors(schema.propertyNames, key, `${path}.${key} (name)`));
  }
  return errors;
}

/** Every object key path the JSON Schema defines, with `*` for names the user chooses. */
function jsonSchemaKeyPaths(schema: JsonSchema, prefix: string[] = []): string[] {
  const here = prefix.join('.');
  const own = Object.entries(schema.properties ?? {}).flatMap(([key, child]) => [
    [...prefix, key].join('.'),
    ...jsonSchemaKeyPaths(child, [...prefix, key]),
  ]);
  const records = typeof schema.additionalProperties === 'object' ? jsonSchemaKeyPaths(schema.additionalProperties, [...prefix, '*']) : [];
  const unions = (schema.anyOf ?? []).flatMap((s) => jsonSchemaKeyPaths(s, prefix));
  return [...new Set([...own, ...records, ...unions])].filter((p) => p !== here);
}

describe('JSON Schema', () => {
  test('schema/slipway.schema.json is what the zod schema generates', () => {
    const committed = readFileSync(JSON_SCHEMA_FILE, 'utf8');
    assert.ok(
      committed === configJsonSchemaText(),
      'schema/slipway.schema.json is out of date: run `npm run build && npm run schema` and commit the result',
    );
  });

  test('it names itself and describes the input side (durations as text)', () => {
    const schema = configJsonSchema();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, CONFIG_SCHEMA_ID);
    assert.equal(schema.title, 'slipway.yaml');
    const service = (schema as { properties: { services: JsonSchema } }).properties.services.additionalProperties as JsonSchema;
    // source or image, and start with source: checked by the loader (semantic-checks.ts), not expressible per key.
    assert.deepEqual(service.required, ['port']);
    assert.equal(service.properties?.stopTimeout?.type, 'string');
    assert.ok(!JSON.stringify(schema).includes('"format":"starts_with"'), 'zod-only formats are left out');
  });

  test('its keys at every level are the keys the loader accepts', () => {
    const paths = jsonSchemaKeyPaths(configJsonSchema() as JsonSchema);
    for (const path of [
      '',
      'services.*',
      'services.*.health',
      'services.*.strategy',
      'services.*.strategy.rolling',
      'services.*.logs',
      'environments.*',
    ]) {
      const prefix = path === '' ? [] : path.split('.');
      const fromJson = paths
        .filter((p) => p.split('.').length === prefix.length + 1 && p.startsWith(path))
        .map((p) => p.split('.').at(-1))
        .sort();
      const fromZod = allowedKeys(
        configSchema,
        prefix.map((seg) => (seg === '*' ? 'x' : seg)),
      ).sort();
      assert.deepEqual(fromJson, fromZod, `keys of ${path || 'the top level'}`);
    }
  });

  test('the documented example passes both the JSON Schema and the loader', () => {
    const example = parse(docsExample) as unknown;
    assert.deepEqual(structuralErrors(configJsonSchema() as JsonSchema, example), []);
    assert.deepEqual(Object.keys(parseConfigText(docsExample, 'slipway.yaml', { dir: '/app' }).config.services), ['web', 'worker']);
  });

  test('a typo and a misspelt strategy fail the JSON Schema too', () => {
    const schema = configJsonSchema() as JsonSchema;
    const bad = { app: 'a', services: { web: { source: '.', start: 'x', port: 1, sorce: '.', strategy: 'rollng', stopTimeout: 'soon' } } };
    assert.deepEqual(structuralErrors(schema, bad), [
      '$.services.web.sorce: unknown key',
      '$.services.web.strategy: matches no alternative',
      '$.services.web.stopTimeout: does not match ^(0|(\\d+(\\.\\d+)?(ms|s|m|h))+)$',
    ]);
  });

  test('docs/configuration.md mentions every key', () => {
    const keys = new Set(
      jsonSchemaKeyPaths(configJsonSchema() as JsonSchema)
        .map((p) => p.split('.').at(-1)!)
        .filter((k) => k !== '*'),
    );
    const missing = [...keys].filter((key) => !docsText.includes(`\`${key}\``));
    assert.deepEqual(missing, [], 'document these keys in docs/configuration.md');
  });
});
