import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from './error-catalogue.js';
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

/** Every code the source builds an error with: `SlipwayError.of('CODE'` (the constructor is for tests and re-wrapping). */
function codesInSource(): { used: Set<string>; literalKinds: string[] } {
  const used = new Set<string>();
  const literalKinds: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/SlipwayError\.of\(\s*'([A-Z_0-9]+)'/g)) used.add(m[1]!);
    for (const m of text.matchAll(/new SlipwayError\(\s*'([a-z-]+)',\s*'([A-Z_0-9]+)'/g)) literalKinds.push(`${file}: ${m[2]}`);
  }
  return { used, literalKinds };
}

/** The table rows of docs/errors.md: code → kind. */
function documented(): Map<string, string> {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  return new Map([...doc.matchAll(/^\| `([A-Z_0-9]+)` \| `([a-z-]+)` \|/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('errors', () => {
  it('maps each kind to one HTTP status and one exit code', () => {
    const table: [ErrorKind, number, number][] = [
      ['invalid', 400, 2],
      ['not-found', 404, 3],
      ['conflict', 409, 4],
      ['unauthorized', 401, 5],
      ['forbidden', 403, 5],
      ['unavailable', 503, 6],
      ['failed', 422, 1],
      ['internal', 500, 70],
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
    assert.deepEqual(
      [back.kind, back.code, back.message, back.hint, back.details],
      ['conflict', 'ROLLOUT_IN_PROGRESS', 'busy', 'wait', { id: 3 }],
    );
    assert.equal(SlipwayError.from(new Error('boom')).kind, 'internal');
  });

  it('the catalogue and docs/errors.md list the same codes with the same kinds, both ways', () => {
    const doc = documented();
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE));
    const undocumented = [...catalogue].filter(([code, kind]) => doc.get(code) !== kind).map(([code, kind]) => `${code} (${kind})`);
    const uncatalogued = [...doc].filter(([code, kind]) => catalogue.get(code) !== kind).map(([code, kind]) => `${code} (${kind})`);
    assert.deepEqual(undocumented, [], `document these in docs/errors.md: ${undocumented.join(', ')}`);
    assert.deepEqual(uncatalogued, [], `docs/errors.md lists codes the catalogue does not have: ${uncatalogued.join(', ')}`);
  });

  it('the source builds errors from the catalogue only, and uses every code in it', () => {
    const { used, literalKinds } = codesInSource();
    assert.deepEqual(literalKinds, [], 'build errors with SlipwayError.of(code, …) so the kind comes from the catalogue');
    const unused = Object.keys(ERROR_CATALOGUE).filter((code) => !used.has(code));
    assert.deepEqual(unused, [], 'codes in the catalogue that nothing raises');
  });
});
