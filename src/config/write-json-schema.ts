/**
 * Writes schema/slipway.schema.json from the zod schema (`npm run schema`, after a build).
 * A unit test fails while the committed file differs from what this would write.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from './json-schema.js';

/** Repository path of the generated schema, from dist/src/config/ or src/config/ alike. */
export const JSON_SCHEMA_FILE = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../schema/slipway.schema.json' : '../../schema/slipway.schema.json', import.meta.url),
);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(JSON_SCHEMA_FILE, configJsonSchemaText());
  console.log(`wrote ${JSON_SCHEMA_FILE}`);
}
