import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText, parseConfigText } from './load.js';
import type { ConfigProblem } from './problem.js';

const brief = (problems: ConfigProblem[]) =>
  problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}${p.suggestion ? ` (${p.suggestion})` : ''}`);
const check = (text: string) => brief(checkConfigText(text, 'slipway.yaml', { dir: '/srv/shop' }).problems);
const DIGEST = 'sha256:' + 'c'.repeat(64);

describe('image services in slipway.yaml', () => {
  it('an image built here: its context resolves against the file, no start needed; registries per project and environment', () => {
    const { config } = parseConfigText(
      `app: shop
registry: { url: registry.example.com/team }
services:
  web:
    image: { build: ./web, file: Containerfile.prod }
    port: 8080
  api:
    image: registry.example.com/shop/api:1.4
    start: exec /usr/bin/node /app/api.js
    port: 8081
  pinned:
    image: 127.0.0.1:5000/shop/pinned@${DIGEST}
    port: 8082
environments:
  staging: { registry: { url: "127.0.0.1:5000", insecure: true } }
`,
      'slipway.yaml',
      { dir: '/srv/shop' },
    );
    assert.deepEqual(config.services.web!.image, { build: '/srv/shop/web', file: 'Containerfile.prod' });
    assert.equal(config.services.web!.source, undefined);
    assert.equal(config.services.web!.start, undefined);
    assert.equal(config.services.api!.image, 'registry.example.com/shop/api:1.4');
    assert.equal(config.registry?.url, 'registry.example.com/team');
    assert.deepEqual(config.environments.staging!.registry, { url: '127.0.0.1:5000', insecure: true });
  });

  it('source and image together, neither, build or cache with an image, and a source without start are errors at their place', () => {
    assert.deepEqual(
      check(`app: shop
services:
  both:
    source: ./web
    start: node server.js
    image: { build: ./web }
    port: 8080
  neither:
    port: 8081
  built:
    image: registry.example.com/shop/built
    build: npm ci
    port: 8082
  nostart:
    source: ./web
    port: 8083
`),
      [
        '6:12 services.both.image: a service has either source: or image:, not both (remove source: to run the image, or image: to run the source as a process)',
        '8:3 services.neither.source: missing required key "source" (or image: to run an OCI image (docs/containers.md))',
        '12:12 services.built.build: build: belongs to a source; an image is built from its Containerfile (remove build:, or put the build steps in the Containerfile)',
        '14:3 services.nostart.start: missing required key "start" (the shell command that starts one instance)',
      ],
    );
  });

  it('a malformed image reference or registry address names the expected form', () => {
    const problems = check(`app: shop
registry: { url: "https://registry.example.com" }
services:
  web:
    image: Registry.Example.com/Shop/Web
    port: 8080
`);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^2:18 registry\.url: expected a registry address such as registry\.example\.com or 127\.0\.0\.1:5000\/team/,
    );
    assert.match(problems[1]!, /^5:12 services\.web\.image: /);
  });

  it('registry credentials name a user and a secret, never a password; every mistake is reported at once', () => {
    const { config } = parseConfigText(
      `app: shop
registry: { url: registry.example.com/team, auth: { username: deploy, passwordSecret: REGISTRY_PASSWORD } }
services:
  web: { image: { build: ./web }, port: 8080 }
`,
      'slipway.yaml',
    );
    assert.deepEqual(config.registry?.auth, { username: 'deploy', passwordSecret: 'REGISTRY_PASSWORD' });
    const problems = check(`app: shop
registry:
  url: registry.example.com
  auth: { username: "", password: hunter2, passwordSecret: "registry password" }
services:
  web: { image: { build: ./web }, port: 8080 }
`);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /^4:21 registry\.auth\.username: expected a non-empty string/);
    assert.match(problems[1]!, /^4:25 registry\.auth\.password: unknown key "password"/);
    assert.match(problems[2]!, /^4:60 registry\.auth\.passwordSecret: expected a secret name/);
  });
});
