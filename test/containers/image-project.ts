import { join } from 'node:path';

/** The fixture app the test images run. */
export const FIXTURE = join(import.meta.dirname, '../../../test/fixtures/app/server.js');

/** slipway.yaml for one image service "web" built from ./web. */
export function config(port: number, version: string, more = ''): string {
  return `app: test
services:
  web:
    image: { build: ./web }
    instances: 2
    port: ${port}
    env:
      VERSION: "${version}"
    health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }
    stopTimeout: 5s
${more}`;
}
