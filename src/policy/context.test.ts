import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTEXT_FIELDS, type FieldSpec } from './context.js';

const DOCS = fileURLToPath(new URL('../../../docs/policies.md', import.meta.url));

/** `environment.name`, `approvals[].by`, …: every path a policy can read. */
function paths(fields: Record<string, FieldSpec>, prefix = ''): string[] {
  return Object.entries(fields).flatMap(([name, spec]) => {
    const path = `${prefix}${name}`;
    if (spec.type === 'object') return [path, ...paths(spec.fields, `${path}.`)];
    if (spec.type === 'list' && spec.of.type === 'object') return [path, ...paths(spec.of.fields, `${path}[].`)];
    return [path];
  });
}

test('docs/policies.md documents every variable and field of the policy context', () => {
  const docs = readFileSync(DOCS, 'utf8');
  const objects = new Set(
    Object.entries(CONTEXT_FIELDS)
      .filter(([, s]) => s.type === 'object')
      .map(([n]) => n),
  );
  // An object is documented through its fields (`environment.name`); the rest each have a row.
  const missing = paths(CONTEXT_FIELDS).filter((p) => !objects.has(p) && !docs.includes(`| \`${p}\` |`));
  assert.deepEqual(missing, [], 'add a row for each of these to the context table of docs/policies.md');
});
