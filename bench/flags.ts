/**
 * `npm run bench -- flags`: feature flag evaluation (docs/benchmarks.md "Feature flags").
 *
 * In-process: one flag with two rules and a 10 % rollout, evaluated for 10 000 synthetic users
 * (5 countries, 6 app versions, 3 plans), by Slipway's evaluator (src/flags, what the provider
 * runs), the same with every rule through CEL every time (no remembered results), the provider
 * through @openfeature/server-sdk (as an application calls it), and Unleash's Node client
 * (`unleash-client`, local evaluation) with the same flag as strategies and constraints, fed by a
 * loopback stand-in for the Unleash API. All four agree on every user (checked first).
 *
 * Over HTTP: OFREP single-flag evaluations against a real controller at a steady rate on one
 * keep-alive connection, p50/p99 of the round trip. (Unleash's equivalent, its Edge or server,
 * cannot run here.)
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { OpenFeature } from '@openfeature/server-sdk';
import { startUnleash, type Unleash } from 'unleash-client';
import { tmpdir } from 'node:os';
import { compileFlagSet } from '../src/flags/compile.js';
import { definitionOf } from '../src/flags/definitions.js';
import { evaluateFlag } from '../src/flags/evaluate.js';
import { flagSchema } from '../src/config/flags-schema.js';
import { SlipwayProvider } from '../packages/openfeature-provider/src/index.js';
import { formatTable, median } from './support/stats.js';
import { SlipwayProject } from './support/slipway-project.js';
import { freePort } from './support/proc.js';

const FLAG = flagSchema.parse({
  type: 'boolean',
  default: false,
  rules: [
    { if: 'user.country in ["DE", "AT"] && semver(app.version) >= semver("2.3.0")', serve: true },
    { if: 'user.plan == "beta"', serve: true },
  ],
  rollout: { percent: 10, by: 'user.id' },
});

const COUNTRIES = ['DE', 'AT', 'FR', 'US', 'JP'];
const VERSIONS = ['2.1.0', '2.2.5', '2.3.0', '2.3.1', '2.4.0-rc.1', '3.0.0'];
const PLANS = ['free', 'pro', 'beta'];

interface User {
  id: string;
  country: string;
  version: string;
  plan: string;
}
const USERS: User[] = Array.from({ length: 10_000 }, (_, i) => ({
  id: `user-${i}`,
  country: COUNTRIES[i % 5]!,
  version: VERSIONS[(i * 7) % 6]!,
  plan: PLANS[(i * 11) % 3]!,
}));
const slipwayContext = (u: User) => ({ targetingKey: u.id, user: { country: u.country, plan: u.plan }, app: { version: u.version } });

/** Evaluations per second of `fn` over the users, for about `ms` (whole passes over the users). */
function rate(fn: (u: User) => unknown, ms = 1500): number {
  for (const u of USERS.slice(0, 2000)) fn(u); // warm up
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (const u of USERS) fn(u);
    n += USERS.length;
  }
  return (n / (performance.now() - start)) * 1000;
}

async function asyncRate(fn: (u: User) => Promise<unknown>, ms = 1500): Promise<number> {
  for (const u of USERS.slice(0, 2000)) await fn(u);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (const u of USERS) await fn(u);
    n += USERS.length;
  }
  return (n / (performance.now() - start)) * 1000;
}

/** A loopback stand-in for the Unleash API: the one flag as Unleash strategies (any strategy on: the flag is on). */
async function unleashServer(): Promise<{ server: Server; url: string }> {
  const features = {
    version: 2,
    features: [
      {
        name: 'new-checkout',
        enabled: true,
        strategies: [
          {
            name: 'default',
            constraints: [
              { contextName: 'country', operator: 'IN', values: ['DE', 'AT'] },
              { contextName: 'version', operator: 'SEMVER_GTE', value: '2.3.0' },
            ],
          },
          { name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta'] }] },
          { name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'userId', groupId: 'new-checkout' } },
        ],
      },
    ],
  };
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url?.includes('/client/features') ? JSON.stringify(features) : '{}');
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${port}/api/` };
}

export async function run(): Promise<void> {
  const def = definitionOf('new-checkout', FLAG, 'production');
  const remembered = compileFlagSet([def]);
  const plain = compileFlagSet([def], undefined, { remember: false });
  const evaluate = (set: typeof plain) => (u: User) => evaluateFlag(set, 'new-checkout', slipwayContext(u), 'boolean', false).value;

  const { server, url } = await unleashServer();
  const unleash: Unleash = await startUnleash({
    url,
    appName: 'bench',
    disableMetrics: true,
    refreshInterval: 600_000, // fetched once at start; 0 would never fetch
    skipInstanceCountWarning: true,
    backupPath: tmpdir(),
  });
  const unleashEval = (u: User) =>
    unleash.isEnabled('new-checkout', { userId: u.id, properties: { country: u.country, version: u.version, plan: u.plan } });

  // A controller with the flag, for the provider and for OFREP over HTTP.
  const project = await SlipwayProject.create([]);
  try {
    // The service is never deployed: `slipway flags list` starts the controller alone.
    project.writeConfig({ instances: 1, start: 'node server.js' });
    appendFileSync(join(project.dir, 'slipway.yaml'), `flags:\n  new-checkout: ${JSON.stringify(FLAG)}\n`);
    await project.mustCli(['flags', 'list']);
    const info = JSON.parse(readFileSync(join(project.dir, '.slipway/controller.json'), 'utf8')) as { port: number; token: string };
    const provider = new SlipwayProvider({ baseUrl: `http://127.0.0.1:${info.port}`, token: info.token });
    await OpenFeature.setProviderAndWait('bench', provider);
    const client = OpenFeature.getClient('bench');

    // The four agree on every user before anything is measured.
    let on = 0;
    let unleashOn = 0;
    for (const u of USERS) {
      const a = evaluate(remembered)(u);
      if (a !== evaluate(plain)(u) || a !== (await client.getBooleanValue('new-checkout', false, slipwayContext(u))))
        throw new Error(`Slipway's evaluations disagree for ${u.id}`);
      if (a) on++;
      if (unleashEval(u)) unleashOn++;
    }
    // Unleash's rollout hash (murmur3 of groupId:userId, seed 0, mod 100, + 1) places other users in its 10 %.
    console.log(`users given the flag: Slipway ${on} of ${USERS.length}, Unleash ${unleashOn} (rules alone: ${rulesOn()})`);

    const rows: string[][] = [['in-process evaluation (2 rules + 10 % rollout)', 'evaluations/s']];
    const results: [string, number[]][] = [
      ['Slipway evaluator (rules remembered by value)', []],
      ['Slipway evaluator, CEL every time', []],
      ['Slipway provider via @openfeature/server-sdk', []],
      ['unleash-client isEnabled (local)', []],
    ];
    // Rounds alternate between the four, so that a busy moment of the shared machine hurts each.
    for (let round = 0; round < 3; round++) {
      results[0]![1].push(rate(evaluate(remembered)));
      results[1]![1].push(rate(evaluate(plain)));
      results[2]![1].push(await asyncRate((u) => client.getBooleanValue('new-checkout', false, slipwayContext(u))));
      results[3]![1].push(rate(unleashEval));
    }
    for (const [name, v] of results) rows.push([name, Math.round(median(v)).toLocaleString('en-US')]);
    console.log(formatTable(rows));

    console.log(
      formatTable([['OFREP over HTTP (one keep-alive connection)', 'rate', 'requests', 'p50', 'p99', 'max'], ...(await http(info))]),
    );
    await OpenFeature.close();
  } finally {
    unleash.destroy();
    server.close();
    await project.dispose();
  }
}

function rulesOn(): number {
  return USERS.filter((u) => (['DE', 'AT'].includes(u.country) && u.version >= '2.3.0' && !u.version.includes('-')) || u.plan === 'beta')
    .length;
}

/** Requests at a steady rate (paced by a schedule, never faster), each timed from send to full answer. */
async function http(info: { port: number; token: string }): Promise<string[][]> {
  const agent = new Agent({ connections: 1, pipelining: 1 });
  const rows: string[][] = [];
  try {
    for (const perSecond of [200, 1000]) {
      const seconds = 5;
      const total = perSecond * seconds;
      const latencies: number[] = [];
      const start = performance.now();
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const u = USERS[i % USERS.length]!;
        const t = performance.now();
        const res = await request(`http://127.0.0.1:${info.port}/ofrep/v1/evaluate/flags/new-checkout`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ context: slipwayContext(u) }),
        });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`OFREP answered ${res.statusCode}`);
        latencies.push(performance.now() - t);
      }
      const achieved = total / ((performance.now() - start) / 1000);
      latencies.sort((a, b) => a - b);
      const at = (q: number) => `${latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2)} ms`;
      rows.push([
        `${perSecond}/s asked`,
        `${Math.round(achieved)}/s`,
        String(total),
        at(0.5),
        at(0.99),
        `${latencies.at(-1)!.toFixed(2)} ms`,
      ]);
    }
  } finally {
    await agent.close();
  }
  return rows;
}
