/**
 * The stock OpenFeature OFREP providers against a real controller, with no code of ours between:
 * @openfeature/ofrep-provider through @openfeature/server-sdk (one request per evaluation), and
 * @openfeature/ofrep-web-provider through @openfeature/web-sdk, run in Node (bulk evaluation per
 * context, ETag). Every case of the shared vectors must come out as the evaluator says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature as ServerOpenFeature, type JsonValue } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { startFlagProject, type FlagProject } from './support.js';
import type { FlagVectors } from '../../src/flags/vectors.js';

type Case = FlagVectors['cases'][number];
interface Details {
  value: unknown;
  reason?: string;
  variant?: string;
  errorCode?: string;
}

/** What a user of the SDK sees, in the vectors' terms. */
function seen(d: Details): Record<string, unknown> {
  return {
    value: d.value,
    reason: d.reason,
    ...(d.variant === undefined ? {} : { variant: d.variant }),
    ...(d.errorCode === undefined ? {} : { errorCode: d.errorCode }),
  };
}

function evaluate(
  client: {
    getBooleanDetails(k: string, d: boolean, c?: object): unknown;
    getStringDetails(k: string, d: string, c?: object): unknown;
    getNumberDetails(k: string, d: number, c?: object): unknown;
    getObjectDetails(k: string, d: JsonValue, c?: object): unknown;
  },
  c: Case,
  context?: object,
): unknown {
  const args = [c.flag, c.default, ...(context ? [context] : [])] as const;
  switch (c.type) {
    case 'boolean':
      return client.getBooleanDetails(...(args as unknown as [string, boolean]));
    case 'string':
      return client.getStringDetails(...(args as unknown as [string, string]));
    case 'number':
      return client.getNumberDetails(...(args as unknown as [string, number]));
    case 'object':
      return client.getObjectDetails(...(args as unknown as [string, JsonValue]));
  }
}

describe('OFREP against a real controller (stock providers)', () => {
  let f: FlagProject;
  before(async () => {
    f = await startFlagProject();
  });
  after(async () => {
    await ServerOpenFeature.close();
    await WebOpenFeature.close();
    await f?.project.cleanup();
  });

  it('@openfeature/ofrep-provider with @openfeature/server-sdk gives every vector', async () => {
    await ServerOpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: f.base, headers: f.headers }));
    const client = ServerOpenFeature.getClient();
    for (const c of f.vectors.cases) {
      const d = (await evaluate(client, c, c.context)) as Details;
      assert.deepEqual(seen(d), c.result, c.name);
    }
  });

  it('@openfeature/ofrep-web-provider with @openfeature/web-sdk (in Node) gives every vector', async () => {
    await WebOpenFeature.setProviderAndWait(
      new OFREPWebProvider({ baseUrl: f.base, headers: Object.entries(f.headers), changeDetection: 'none', cacheMode: 'disabled' }),
    );
    const client = WebOpenFeature.getClient();
    for (const c of f.vectors.cases) {
      // Static context: the provider evaluates every flag for it at once (bulk), then answers locally.
      await WebOpenFeature.setContext(c.context as never);
      const d = evaluate(client, c) as Details;
      assert.deepEqual(seen(d), c.result, c.name);
    }
  });

  it('bulk evaluation answers 304 to an unchanged ETag, and a new one after a change', async () => {
    const post = (etag?: string) =>
      fetch(`${f.base}/ofrep/v1/evaluate/flags`, {
        method: 'POST',
        headers: { ...f.headers, 'content-type': 'application/json', ...(etag ? { 'if-none-match': etag } : {}) },
        body: JSON.stringify({ context: { targetingKey: 'user-2' } }),
      });
    const first = await post();
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    assert.equal((await post(etag)).status, 304);
    const set = await f.project.cli(['flags', 'set', 'everyone', '--off', '--reason', 'etag test']);
    assert.equal(set.code, 0, set.stderr);
    const changed = await post(etag);
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    const body = (await changed.json()) as { flags: { key: string; value: unknown; reason: string }[] };
    assert.deepEqual(
      body.flags.find((x) => x.key === 'everyone'),
      { key: 'everyone', value: false, reason: 'DISABLED', variant: 'false', metadata: {} },
    );
    assert.equal((await f.project.cli(['flags', 'set', 'everyone', '--reset'])).code, 0);
  });

  it('answers OFREP errors with OFREP bodies, and refuses a request without the token', async () => {
    const one = (key: string, body: string, headers = f.headers) =>
      fetch(`${f.base}/ofrep/v1/evaluate/flags/${key}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
    const missing = await one('nope', '{}');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'no flag named "nope"' });
    const bad = await one('everyone', '{"context": [1]}');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errorCode: string }).errorCode, 'INVALID_CONTEXT');
    const garbage = await one('everyone', '{not json');
    assert.equal(garbage.status, 400);
    assert.equal(((await garbage.json()) as { errorCode: string }).errorCode, 'PARSE_ERROR');
    assert.equal((await one('everyone', '{}', {})).status, 401);
    // Another environment by path: in staging new-checkout is on for everyone.
    const staging = await fetch(`${f.base}/environments/staging/ofrep/v1/evaluate/flags/new-checkout`, {
      method: 'POST',
      headers: { ...f.headers, 'content-type': 'application/json' },
      body: '{"context": {"targetingKey": "u-1"}}',
    });
    assert.deepEqual(await staging.json(), { key: 'new-checkout', value: true, reason: 'STATIC', variant: 'true', metadata: {} });
  });
});
