/**
 * packages/openfeature-provider as a published package: `npm pack` builds it on its own (its own
 * tsconfig, its prepack script), the tarball is installed into a temporary project outside this
 * repository (offline: from the npm cache, no registry), and an application there uses it with
 * @openfeature/server-sdk against a real controller, giving every shared vector and following a
 * kill switch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startFlagProject, type FlagProject } from './support.js';

const run = promisify(execFile);
const PACKAGE = resolve('packages/openfeature-provider');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The application: evaluates every case it is given on stdin, then waits for the kill switch of "everyone". */
const APP = `
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { SlipwayProvider } from '@slipway/openfeature-provider';
import { readFileSync } from 'node:fs';
const { baseUrl, token, cases } = JSON.parse(readFileSync(0, 'utf8'));
await OpenFeature.setProviderAndWait(new SlipwayProvider({ baseUrl, token }));
const client = OpenFeature.getClient();
const get = { boolean: 'getBooleanDetails', string: 'getStringDetails', number: 'getNumberDetails', object: 'getObjectDetails' };
const results = [];
for (const c of cases) {
  const d = await client[get[c.type]](c.flag, c.default, c.context);
  results.push({ value: d.value, reason: d.reason, ...(d.variant === undefined ? {} : { variant: d.variant }), ...(d.errorCode === undefined ? {} : { errorCode: d.errorCode }) });
}
process.stdout.write(JSON.stringify({ results }) + '\\n');
// The test then throws the kill switch through the API; this waits for it (bounded in time).
const deadline = Date.now() + 10_000;
await new Promise((resolve) => client.addHandler(ProviderEvents.ConfigurationChanged, resolve));
while (Date.now() < deadline && (await client.getBooleanValue('everyone', true)) !== false) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(JSON.stringify({ everyone: await client.getBooleanValue('everyone', true) }) + '\\n');
await OpenFeature.close();
`;

describe('the provider as its own package (npm pack, installed offline, real controller)', () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-provider-pkg-'));
  let f: FlagProject;
  before(async () => {
    f = await startFlagProject();
  });
  after(async () => {
    await f?.project.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('packs, installs from the tarball and serves an application through @openfeature/server-sdk', async () => {
    // npm pack runs the package's prepack (its own tsc build) and lists what it ships.
    const packed = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE, timeout: 120_000 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((x) => x.path).sort();
    assert.ok(files.includes('dist/packages/openfeature-provider/src/index.js'), files.join(' '));
    assert.ok(files.includes('dist/packages/openfeature-provider/src/index.d.ts'), 'with its types');
    assert.ok(files.includes('dist/src/flags/evaluate.js'), 'the evaluator it shares with the controller is inside');
    assert.ok(!files.some((x) => x.endsWith('.test.js') || x.startsWith('src/') || x.includes('controller')), files.join(' '));

    // A project outside the repository: nothing resolves from this repository's node_modules.
    const app = join(work, 'app');
    const sdk = (JSON.parse(readFileSync('node_modules/@openfeature/server-sdk/package.json', 'utf8')) as { version: string }).version;
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', join(work, info!.filename), `@openfeature/server-sdk@${sdk}`], {
      cwd: work,
      timeout: 180_000,
    });
    const installed = readdirSync(join(work, 'node_modules/@slipway/openfeature-provider'));
    assert.deepEqual(installed.sort(), ['README.md', 'dist', 'package.json']);
    writeFileSync(`${app}.mjs`, APP);

    // Its types come with it: a TypeScript application type-checks against the installed package (a typo is caught).
    const check = (options: string) =>
      writeFileSync(
        join(work, 'check.ts'),
        `import type { Provider } from '@openfeature/server-sdk';
import { SlipwayProvider } from '@slipway/openfeature-provider';
export const p: Provider = new SlipwayProvider({ baseUrl: 'http://127.0.0.1:1', token: 't', ${options} });\n`,
      );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = (): Promise<string> =>
      run(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', work], { timeout: 60_000 }).then(
        () => 'ok',
        (err: { stdout: string }) => err.stdout,
      );
    check(`environment: 'production'`);
    assert.equal(await tsc(), 'ok');
    check(`environmnt: 'production'`);
    assert.match(await tsc(), /'environmnt' does not exist in type 'SlipwayProviderOptions'/);

    const child = execFile(process.execPath, [`${app}.mjs`], { cwd: work, timeout: 60_000 });
    const lines: unknown[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstLine = new Promise<void>((resolveFirst) =>
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
          lines.push(JSON.parse(buffered.slice(0, i)));
          buffered = buffered.slice(i + 1);
          resolveFirst();
        }
      }),
    );
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    child.stdin!.end(JSON.stringify({ baseUrl: f.base, token: f.info.token, cases: f.vectors.cases }));
    await Promise.race([firstLine, exited]);
    assert.ok(lines.length > 0, `the application printed nothing: ${stderr}`);
    assert.deepEqual(
      (lines[0] as { results: unknown[] }).results,
      f.vectors.cases.map((c) => c.result),
    );

    // The kill switch reaches the installed provider over its stream.
    const res = await fetch(`${f.base}/v1/flags/everyone`, {
      method: 'POST',
      headers: { ...f.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false, by: 'test', reason: 'kill switch' }),
    });
    assert.equal(res.status, 200);
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(lines[1], { everyone: false });
  });
});
