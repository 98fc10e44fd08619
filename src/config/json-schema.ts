/**
 * The published JSON Schema of slipway.yaml (schema/slipway.schema.json), derived from the zod schema
 * so that editors check exactly what Slipway checks. It describes the input side: durations and sizes
 * are the strings users write, and keys with defaults are optional.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

/** Stable identifier of the schema; editors use it to cache and to resolve `$ref`s. */
export const CONFIG_SCHEMA_ID = 'https://slipway.dev/schema/slipway.schema.json';

/** Formats editors understand; zod also emits its own (such as "starts_with") that would be noise there. */
const STANDARD_FORMATS = new Set(['date-time', 'date', 'time', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'uuid', 'regex']);

/** The JSON Schema (draft 2020-12) of slipway.yaml. */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === 'string' && !STANDARD_FORMATS.has(jsonSchema.format)) delete jsonSchema.format;
      // z.number().int() bounds integers by the safe range; "no upper bound" says the same more plainly.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: CONFIG_SCHEMA_ID, title: 'slipway.yaml', ...rest };
}

/** The schema as written to schema/slipway.schema.json: two-space indents and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
