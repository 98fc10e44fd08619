import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_KINDS, SlipwayError, type ErrorKind } from './errors.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Every `new SlipwayError('kind', 'CODE'` in the source tree. */
function codesInSource(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/SlipwayError\(\s*'([a-z-]+)',\s*'([A-Z_]+)'/g)) codes.set(m[2]!, m[1]!);
  }
  return codes;
}

describe('errors', () => {
  it('maps each kind to one HTTP status and one exit code', () => {
    const table: [ErrorKind, number, number][] = [
      ['invalid', 400, 2], ['not-found', 404, 3], ['conflict', 409, 4], ['unauthorized', 401, 5],
      ['forbidden', 403, 5], ['unavailable', 503, 6], ['failed', 422, 1], ['internal', 500, 70],
    ];
    assert.deepEqual(Object.keys(ERROR_KINDS).sort(), table.map((t) => t[0]).sort());
    for (const [kind, status, exit] of table) {
      const e = new SlipwayError(kind, 'X', 'm');
      assert.equal(e.httpStatus, status, kind);
      assert.equal(e.exitCode, exit, kind);
    }
  });

  it('survives the trip through the API body', () => {
    const e = new SlipwayError('conflict', 'ROLLOUT_IN_PROGRESS', 'busy', { hint: 'wait', details: { id: 3 } });
    const back = SlipwayError.fromBody(JSON.parse(JSON.stringify(e.toBody())));
    assert.deepEqual([back.kind, back.code, back.message, back.hint, back.details], ['conflict', 'ROLLOUT_IN_PROGRESS', 'busy', 'wait', { id: 3 }]);
    assert.equal(SlipwayError.from(new Error('boom')).kind, 'internal');
  });

  it('docs/errors.md lists every code used in the source, with its kind', () => {
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const missing: string[] = [];
    for (const [code, kind] of codesInSource()) {
      if (!new RegExp(`\\| \`${code}\` \\| \`${kind}\` \\|`).test(doc)) missing.push(`${code} (${kind})`);
    }
    assert.deepEqual(missing, [], `add these to docs/errors.md: ${missing.join(', ')}`);
  });
});
