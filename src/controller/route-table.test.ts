import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/load.js';
import type { InstanceStatus } from '../drivers/driver.js';
import { routeTable } from './route-table.js';

function spec(extra: string) {
  const { config } = parseConfigText(
    `app: t
services:
  web:
    source: ./app
    start: node server.js
    port: 8080
${extra}`,
    'slipway.yaml',
  );
  return config.services.web!;
}

const instances = [{ id: 'web-1-a', host: '127.0.0.1', port: 4001 }] as InstanceStatus[];
const result = { route: [{ release: 1, ids: ['web-1-a'] }] };

describe('route table from the config', () => {
  it('listens on the loopback address unless the service config names another', () => {
    const table = routeTable('web', spec(''), result, instances);
    assert.deepEqual(table.listen, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(table.pools, [{ release: 1, weight: 1, backends: [{ id: 'web-1-a', host: '127.0.0.1', port: 4001 }] }]);
    assert.deepEqual(routeTable('web', spec('    host: 0.0.0.0\n'), result, instances).listen, { host: '0.0.0.0', port: 8080 });
  });

  it('puts a blue-green preview listener on the same host as the service', () => {
    const s = spec('    strategy:\n      blueGreen: { previewPort: 8081 }\n');
    const table = routeTable('web', s, { ...result, routing: { previewRelease: 2, previewIds: [] } }, instances);
    assert.deepEqual(table.preview, { host: '127.0.0.1', port: 8081, release: 2 });
  });
});
