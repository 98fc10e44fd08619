/**
 * The OpenAPI document (GET /v1/openapi.json): a real OpenAPI 3.1 validator accepts it; every route
 * of the table is in it with its bearer security and error answers; every read route of a real
 * controller with a real deployment answers what the document says (validated with Ajv against
 * the document's own schemas); a request that does not match its schema is REQUEST_INVALID with
 * each problem listed; and docs/api.md holds the reference generated from it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { TestProject } from '../support/project.js';
import { apiDocument, apiEndpoints } from '../../src/api/server.js';
import { openApiPath } from '../../src/api/openapi.js';
import { renderReference, replaceReference } from '../../src/api/reference.js';
import { ROOT } from '../../bench/support/proc.js';

type Json = Record<string, unknown>;
interface Operation {
  security?: unknown;
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Json }> }>;
  parameters?: { name: string; in: string }[];
}

describe('OpenAPI document', () => {
  const doc = apiDocument() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: Json };

  it('is valid OpenAPI 3.1 to @seriousme/openapi-schema-validator', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const r = await new Validator().validate(structuredClone(doc));
    assert.equal(r.valid, true, JSON.stringify(r.errors, null, 2));
  });

  it('has every route of the table, each with its doc, the bearer security and the error answers', () => {
    const endpoints = apiEndpoints();
    assert.ok(endpoints.length > 30);
    for (const e of endpoints.filter((x) => !x.public)) {
      const label = `${e.method} ${e.pattern.source}`;
      assert.ok(e.doc, `${label} has a doc (src/api/route-docs.ts)`);
      const op = doc.paths[openApiPath(e)]?.[e.method.toLowerCase()];
      assert.ok(op, `${label} is in the document as ${openApiPath(e)}`);
      assert.deepEqual(op.security, [{ bearer: [] }], `${label}: bearer`);
      for (const status of ['400', '401', '403', '404', '500'])
        assert.match(op.responses[status]?.$ref ?? '', /^#\/components\/responses\//, `${label}: ${status}`);
      assert.ok(op.responses['200'], `${label}: 200`);
      for (const name of openApiPath(e).match(/\{(\w+)\}/g) ?? [])
        assert.ok(
          op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === name),
          `${label}: path parameter ${name}`,
        );
    }
    const error = (doc.components as { schemas: Record<string, { properties: { error: { required: string[] } } }> }).schemas.Error!;
    assert.deepEqual(error.properties.error.required.sort(), ['code', 'kind', 'message']);
  });

  it('docs/api.md holds the reference generated from the document (node dist/src/api/write-reference.js)', () => {
    const file = join(ROOT, 'docs/api.md');
    const text = readFileSync(file, 'utf8');
    assert.equal(
      text,
      replaceReference(text, renderReference(doc)),
      'docs/api.md is out of date: run node dist/src/api/write-reference.js',
    );
  });
});

describe('OpenAPI contract: every read route of a real controller answers what the document says', () => {
  const p = new TestProject();
  const doc = apiDocument() as { paths: Record<string, Record<string, Operation>> };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(structuredClone(doc), 'openapi.json');
  let base = '';
  let token = '';

  before(async () => {
    await p.writeConfig({
      instances: 1,
      tail: `flags:
  new-checkout:
    type: boolean
    default: false`,
    });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const again = await p.cli(['restart', 'web', '--wait']);
    assert.equal(again.code, 0, again.stderr);
    const flag = await p.cli(['flags', 'set', 'new-checkout', '--on', '--reason', 'contract test']);
    assert.equal(flag.code, 0, flag.stderr + flag.stdout);
    const info = p.controllerInfo();
    base = `http://127.0.0.1:${info.port}`;
    token = readFileSync(join(p.dir, '.slipway/token'), 'utf8').trim();
  });
  after(() => p.cleanup());

  /** Concrete paths for the document's paths. */
  const concrete = (path: string) =>
    path.replace('{service}', 'web').replace('{id}', '1').replace('{key}', 'new-checkout').replace('{token}', 'none');

  /** Read routes that do not answer JSON: checked for their media type only. */
  const notJson = new Set(['/metrics', '/v1/services/{service}/logs', '/v1/flag-definitions/stream']);

  it('validates each GET answer against its schema', async () => {
    const gets = Object.entries(doc.paths).filter(([, ops]) => ops.get);
    assert.ok(gets.length >= 15, `${gets.length} read routes`);
    for (const [path, ops] of gets) {
      const url = `${base}${concrete(path)}${path.endsWith('/logs') ? '?lines=5&follow=0' : ''}`;
      const controller = new AbortController();
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      const type = res.headers.get('content-type') ?? '';
      const content = ops.get!.responses['200']!.content!;
      const declared = Object.keys(content);
      assert.ok(
        declared.some((t) => type.startsWith(t.split(';')[0]!)),
        `${path}: answered ${type}, the document says ${declared.join(', ')}`,
      );
      if (notJson.has(path)) {
        if (path.endsWith('/logs')) {
          const schema = ajv.getSchema(`openapi.json#/paths/${pointer(path)}/get/responses/200/content/application~1x-ndjson/schema`)!;
          for (const line of (await res.text()).split('\n').filter(Boolean))
            assert.ok(schema(JSON.parse(line)), `${path}: ${line}: ${ajv.errorsText(schema.errors)}`);
        } else controller.abort();
        continue;
      }
      const body: unknown = await res.json();
      const validate = ajv.getSchema(`openapi.json#/paths/${pointer(path)}/get/responses/200/content/application~1json/schema`);
      assert.ok(validate, `${path}: schema compiles`);
      assert.ok(validate(body), `${path}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
    }
  });

  it('the JSON of an error is the Error schema; a request that does not match is REQUEST_INVALID with each problem', async () => {
    const res = await fetch(`${base}/v1/services/web/scale`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 'many', by: 7 }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; details: { issues: { in: string; path: string }[] } } };
    assert.equal(body.error.code, 'REQUEST_INVALID');
    assert.deepEqual(body.error.details.issues.map((i) => `${i.in}:${i.path}`).sort(), ['body:by', 'body:instances']);
    const validate = ajv.getSchema('openapi.json#/components/schemas/Error')!;
    assert.ok(validate(body), ajv.errorsText(validate.errors));
    const q = await fetch(`${base}/v1/services/web/history?limit=lots`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(q.status, 400);
    assert.equal(((await q.json()) as { error: { code: string } }).error.code, 'REQUEST_INVALID');
    const status = (await p.status()).services[0]!;
    assert.equal(status.desired, 1, 'the invalid scale changed nothing');
  });
});

/** A document path as a JSON pointer segment. */
function pointer(path: string): string {
  return path.replaceAll('~', '~0').replaceAll('/', '~1');
}
