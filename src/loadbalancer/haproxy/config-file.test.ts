import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlipwayError } from '../../core/errors.js';
import type { ServiceRoute } from '../../router/types.js';
import { listenerKey, mainServers, parseServerName, previewServers, renderConfig, serverName } from './config-file.js';

const b = (id: string, port: number) => ({ id, host: '127.0.0.1', port });
const route = (pools: ServiceRoute['pools'], preview?: ServiceRoute['preview']): ServiceRoute => ({
  service: 'web',
  listen: { host: '127.0.0.1', port: 8080 },
  pools,
  ...(preview ? { preview } : {}),
});

describe('HAProxy config and weights', () => {
  test('pool weights become server weights: a pool’s share split over its servers, the largest at 256', () => {
    const servers = mainServers(
      route([
        { release: 1, weight: 90, backends: [b('web-1-a', 1), b('web-1-b', 2), b('web-1-c', 3)] },
        { release: 2, weight: 10, backends: [b('web-2-a', 4)] },
      ]),
    );
    assert.deepEqual(
      servers.map((s) => [s.name, s.weight]),
      [
        ['r1-web-1-a', 256],
        ['r1-web-1-b', 256],
        ['r1-web-1-c', 256],
        ['r2-web-2-a', 85],
      ],
    );
    // 85 / (3 × 256 + 85) = 9.96%: the canary's 10%.
    const share = 85 / (3 * 256 + 85);
    assert.ok(Math.abs(share - 0.1) < 0.005);
  });

  test('a pool of weight 0 gets weight 0; a tiny weighted pool never rounds down to 0', () => {
    const servers = mainServers(
      route([
        { release: 1, weight: 1000, backends: [b('a', 1)] },
        { release: 2, weight: 1, backends: [b('b', 2)] },
        { release: 3, weight: 0, backends: [b('c', 3)] },
      ]),
    );
    assert.deepEqual(
      servers.map((s) => s.weight),
      [256, 1, 0],
    );
  });

  test('server names carry release and instance id, and refuse what HAProxy could misread', () => {
    assert.deepEqual(parseServerName(serverName(12, 'web.staging-12-ab12cd')), { release: 12, id: 'web.staging-12-ab12cd' });
    assert.throws(
      () => serverName(1, 'a b'),
      (e: unknown) => e instanceof SlipwayError && e.code === 'HAPROXY_UNSUPPORTED',
    );
    assert.throws(() => serverName(1, 'x\nshow info'), SlipwayError);
  });

  test('the rendered config serves every route and preview, and a listener change is what forces a reload', () => {
    const r = route(
      [
        { release: 1, weight: 1, backends: [b('a', 9001)] },
        { release: 2, weight: 0, backends: [b('b', 9002)] },
      ],
      {
        host: '127.0.0.1',
        port: 8081,
        release: 2,
      },
    );
    const cfg = renderConfig([r], '/tmp/x/admin.sock', { healthPath: '/healthz' });
    assert.match(cfg, /stats socket \/tmp\/x\/admin\.sock mode 600 level admin expose-fd listeners/);
    assert.match(cfg, /frontend fe_web\n {2}bind 127\.0\.0\.1:8080\n {2}default_backend be_web/);
    assert.match(cfg, /server r1-a 127\.0\.0\.1:9001 weight 256 check inter 1000 fall 2 rise 1/);
    assert.match(
      cfg,
      /backend be_web_preview\n {2}balance roundrobin\n {2}option httpchk GET \/healthz\n {2}server r2-b 127\.0\.0\.1:9002 weight 1/,
    );
    assert.deepEqual(
      previewServers(r).map((s) => s.name),
      ['r2-b'],
    );
    const weightsOnly = { ...r, pools: [{ release: 1, weight: 0, backends: [b('a', 9001)] }] };
    assert.equal(listenerKey([r]), listenerKey([weightsOnly]), 'weights and servers change at run time');
    assert.notEqual(listenerKey([r]), listenerKey([{ ...r, preview: undefined }]), 'a preview listener closing needs a reload');
  });
});
