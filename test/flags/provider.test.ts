/**
 * packages/openfeature-provider used as an application would: through @openfeature/server-sdk,
 * against a real controller. It gives every shared vector (evaluating in-process), and a kill
 * switch set through the API reaches the connected provider within one second (server-sent events).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenFeature, ProviderEvents, type JsonValue } from '@openfeature/server-sdk';
import { SlipwayProvider } from '../../packages/openfeature-provider/src/index.js';
import { waitFor } from '../../src/core/wait-for.js';
import { startFlagProject, type FlagProject } from './support.js';

describe('the Slipway OpenFeature provider (real controller, @openfeature/server-sdk)', () => {
  let f: FlagProject;
  let provider: SlipwayProvider;
  before(async () => {
    f = await startFlagProject();
    provider = new SlipwayProvider({ baseUrl: f.base, token: f.info.token });
    await OpenFeature.setProviderAndWait('app', provider);
  });
  after(async () => {
    await OpenFeature.close();
    await f?.project.cleanup();
  });

  it('gives every shared vector, evaluating in-process', async () => {
    const client = OpenFeature.getClient('app');
    for (const c of f.vectors.cases) {
      const ctx = c.context as Record<string, JsonValue>;
      const d =
        c.type === 'boolean'
          ? await client.getBooleanDetails(c.flag, c.default as boolean, ctx)
          : c.type === 'string'
            ? await client.getStringDetails(c.flag, c.default as string, ctx)
            : c.type === 'number'
              ? await client.getNumberDetails(c.flag, c.default as number, ctx)
              : await client.getObjectDetails(c.flag, c.default as JsonValue, ctx);
      const seen = {
        value: d.value,
        reason: d.reason,
        ...(d.variant === undefined ? {} : { variant: d.variant }),
        ...(d.errorCode === undefined ? {} : { errorCode: d.errorCode }),
      };
      assert.deepEqual(seen, c.result, c.name);
    }
  });

  it('sees a kill switch within one second, with a configuration-changed event', async () => {
    const client = OpenFeature.getClient('app');
    assert.equal(await client.getBooleanValue('everyone', false), true);
    const changed: string[][] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (e) => changed.push(e?.flagsChanged ?? []));
    const res = await fetch(`${f.base}/v1/flags/everyone`, {
      method: 'POST',
      headers: { ...f.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false, by: 'test', reason: 'kill switch' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    // The deadline is the feature's promise: one second from the controller's answer.
    await waitFor('the provider to serve the kill switch', async () => (await client.getBooleanValue('everyone', true)) === false, 1000, 5);
    const d = await client.getBooleanDetails('everyone', true);
    assert.equal(d.reason, 'DISABLED');
    assert.ok(
      changed.some((keys) => keys.includes('everyone')),
      `events: ${JSON.stringify(changed)}`,
    );
  });

  it('follows an edit of slipway.yaml while connected', async () => {
    const client = OpenFeature.getClient('app');
    const file = join(f.project.dir, 'slipway.yaml');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /max: 10\b/);
    writeFileSync(file, text.replace(/max: 10\b/, 'max: 20'));
    // The controller looks at the file every second while a provider listens.
    await waitFor(
      'the provider to serve the edited default',
      async () => ((await client.getObjectValue('limits', {}, { user: { plan: 'free' } })) as { max?: number }).max === 20,
      5000,
    );
  });
});
