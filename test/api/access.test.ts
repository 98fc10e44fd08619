/**
 * Access control on every endpoint of the route table (so routes added later are covered too),
 * against a real controller over real HTTP: no token → 401, a token without the role → 403, a
 * token for another environment → 403 (both naming what is needed), the right one → anything but
 * 401/403. Then revoked and expired tokens, the audit trail of what was done, and that no token
 * value shows up in a response, the controller's log or the state database.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeTwoEnvironments } from '../support/environments.js';
import { TestProject, freePort } from '../support/project.js';
import { apiEndpoints } from '../../src/api/server.js';
import { ROLES, type Role } from '../../src/access/roles.js';
import type { ControllerFile } from '../../src/controller/paths.js';
import type { AuditResponse, TokenCreateResponse } from '../../src/api/access-types.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';

/** A concrete path for a pattern: service names become "web", ids "1". */
function examplePath(pattern: RegExp): string {
  return pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replaceAll('([^/]+)', 'web')
    .replaceAll('(\\d+)', '1')
    .replaceAll('\\/', '/')
    .replaceAll('\\.', '.');
}

/** Staging (the default) and production, one instance each; production wants approval. */
function twoEnvironments(p: TestProject, production: number): void {
  writeTwoEnvironments(p, { production, productionKeys: { approval: { required: true } } });
}

interface Answer {
  status: number;
  text: string;
  body: { error?: { code?: string; message?: string; details?: { role?: string; environment?: string | null } } };
}

describe('API access control on every endpoint (real controller, two environments)', () => {
  const p = new TestProject();
  let info: ControllerFile;
  const values: string[] = [];
  /** Token values by "role@environment" (environment "all": every one). */
  const tokens = new Map<string, string>();

  async function call(method: string, path: string, token: string | undefined, env = 'staging'): Promise<Answer> {
    const res = await fetch(`http://127.0.0.1:${info.port}${path}${path.includes('?') ? '&' : '?'}env=${env}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      body: method === 'POST' ? JSON.stringify({ stopAll: false, full: true, reason: 'access test' }) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Answer['body'] };
  }

  before(async () => {
    p.port = await freePort();
    twoEnvironments(p, await freePort());
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    info = p.controllerInfo();
    for (const role of ROLES)
      for (const env of ['all', 'staging', 'production']) {
        const r = await p.cli([
          'tokens',
          'create',
          '--role',
          role,
          '--name',
          `${role}-${env}`,
          ...(env === 'all' ? [] : ['--env', env]),
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        const created = JSON.parse(r.stdout) as TokenCreateResponse;
        tokens.set(`${role}@${env}`, created.value);
        values.push(created.value);
      }
  });
  after(() => p.cleanup());

  it('slipway up made a 0600 admin token file the CLI uses, and tokens list never shows a value', async () => {
    const file = join(p.dir, '.slipway/token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const local = readFileSync(file, 'utf8').trim();
    values.push(local);
    const list = await p.cli(['tokens', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /local:\S+ +admin +all/);
    assert.match(list.stdout, /deployer-staging +deployer +staging/);
    const two = await p.cli(['tokens', 'create', '--role', 'viewer', '--env', 'staging,production', '--name', 'dashboard']);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /created token "dashboard" \(#\d+\): viewer for staging, production/);
    assert.match(two.stdout, /^slw_[A-Za-z0-9_-]{43}\n$/, 'stdout is the token alone');
    values.push(two.stdout.trim());
    const taken = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'dashboard']);
    assert.equal(taken.code, 4);
    assert.match(taken.stderr, /already named "dashboard"/);
    const json = await p.cli(['tokens', 'list', '--json']);
    for (const v of values) {
      assert.ok(!list.stdout.includes(v) && !json.stdout.includes(v), 'a token value was listed');
      assert.ok(!json.stdout.includes(v.slice(4, 20)), 'part of a token value was listed');
    }
  });

  it('refuses every changing endpoint without a token (401), without the role or the environment (403), and lets the right token through', async () => {
    // Viewer routes read (OFREP evaluation is a POST that changes nothing): every other route changes something.
    const endpoints = apiEndpoints().filter((e) => e.role !== 'viewer');
    assert.ok(endpoints.length >= 16, `only ${endpoints.length} changing endpoints found`);
    // Shutdown goes last: its right answer stops the controller.
    endpoints.sort((a, b) => Number(a.pattern.source.includes('shutdown')) - Number(b.pattern.source.includes('shutdown')));
    for (const e of endpoints) {
      const path = examplePath(e.pattern);
      const what = `${e.method} ${path} (needs ${e.role})`;
      assert.match(path, e.pattern, what);

      const none = await call(e.method, path, undefined);
      assert.equal(none.status, 401, what);
      assert.equal(none.body.error?.code, 'UNAUTHORIZED', what);

      const below = ROLES[ROLES.indexOf(e.role) - 1] as Role;
      const weak = await call(e.method, path, tokens.get(`${below}@all`));
      assert.equal(weak.status, 403, `${what} as a ${below}: ${weak.text}`);
      assert.equal(weak.body.error?.code, 'FORBIDDEN');
      assert.equal(weak.body.error?.details?.role, e.role);
      assert.ok(weak.body.error?.message?.includes(`needs the ${e.role} role`), weak.body.error?.message);

      // An environment-wide action needs a token for this environment; a project-wide one a token for all of them.
      const project = e.scope === 'project';
      const elsewhere = await call(e.method, path, tokens.get(`${e.role}@${project ? 'staging' : 'production'}`));
      assert.equal(elsewhere.status, 403, `${what} with a token for another environment: ${elsewhere.text}`);
      assert.equal(elsewhere.body.error?.code, 'FORBIDDEN');
      assert.equal(elsewhere.body.error?.details?.environment, project ? null : 'staging');
      assert.match(elsewhere.body.error!.message!, project ? /all environments/ : /environment "staging"/);

      const right = await call(e.method, path, tokens.get(`${e.role}@${project ? 'all' : 'staging'}`));
      assert.ok(right.status !== 401 && right.status !== 403, `${what} with the right token: ${right.status} ${right.text}`);
      for (const v of values) assert.ok(![none, weak, elsewhere, right].some((a) => a.text.includes(v)), 'a token value was echoed');
    }
    // The right token's shutdown was obeyed.
    await waitFor('the controller to stop', () => !pidAlive(info.pid), 20_000);
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    info = p.controllerInfo();
  });

  it('records who did what in the audit log, refusals included; slipway audit shows it', async () => {
    const deployer = tokens.get('deployer@staging')!;
    // The sweep above started rollouts (a deploy, …): let them end before the restart.
    await waitFor(
      'no rollout in progress',
      async () => (await p.status()).services.every((s) => s.rollout === null || s.rollout.finishedAt !== null),
      60_000,
    );
    const r = await p.cli(['restart', 'web'], { env: { SLIPWAY_TOKEN: deployer } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const denied = await p.cli(['restart', 'web', '--env', 'production'], { env: { SLIPWAY_TOKEN: deployer } });
    assert.equal(denied.code, 5, denied.stderr);
    assert.match(denied.stderr, /FORBIDDEN|needs the deployer role for environment "production"/);

    const json = await p.cli(['audit', '--since', '1h', '--service', 'web', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const { entries } = JSON.parse(json.stdout) as AuditResponse;
    const restarts = entries.filter((e) => e.action === 'restart' && e.actor === 'deployer-staging');
    const ok = restarts.find((e) => e.outcome === 'ok' && e.environment === 'staging');
    assert.ok(ok, JSON.stringify(entries, null, 1));
    assert.equal(typeof (ok.before as { release: number }).release, 'number');
    assert.equal((ok.after as { rollout: { id: number } }).rollout.id > 0, true);
    assert.ok(restarts.some((e) => e.outcome === 'FORBIDDEN' && e.environment === 'production'));
    // The shutdown of the test above, by the admin token for all environments.
    const all = JSON.parse((await p.cli(['audit', '--json'])).stdout) as AuditResponse;
    assert.ok(all.entries.some((e) => e.action === 'shutdown' && e.actor === 'admin-all' && e.outcome === 'ok'));
    assert.ok(
      all.entries.some(
        (e) => e.action === 'token.create' && e.actor.startsWith('local:') && (e.after as { name: string }).name === 'deployer-staging',
      ),
    );

    const text = await p.cli(['audit', '--service', 'web']);
    assert.match(text.stdout, /deployer-staging +restart +staging\/web/);
    // A viewer for production sees production's entries and project-wide ones, not staging's.
    const viewer = await p.cli(['audit', '--json'], { env: { SLIPWAY_TOKEN: tokens.get('viewer@production')! } });
    const seen = (JSON.parse(viewer.stdout) as AuditResponse).entries;
    assert.ok(seen.length > 0 && seen.every((e) => e.environment === null || e.environment === 'production'));
    const bad = await p.cli(['audit', '--since', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /AUDIT_SINCE_INVALID|not a time/);
  });

  it('lets an approver for production approve a production deploy, and not a deployer; the audit log says who', async () => {
    const deploy = await p.cli(['up', '--env', 'production'], { env: { SLIPWAY_TOKEN: tokens.get('deployer@production')! } });
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.match(deploy.stdout, /waits for approval/);
    const byDeployer = await p.cli(['approve', 'web', '--env', 'production', '--comment', 'mine'], {
      env: { SLIPWAY_TOKEN: tokens.get('deployer@production')! },
    });
    assert.equal(byDeployer.code, 5, byDeployer.stderr);
    assert.match(byDeployer.stderr, /needs the approver role for environment "production"/);
    const byStagingApprover = await p.cli(['approve', 'web', '--env', 'production', '--comment', 'x'], {
      env: { SLIPWAY_TOKEN: tokens.get('approver@staging')! },
    });
    assert.equal(byStagingApprover.code, 5, byStagingApprover.stderr);
    const ok = await p.cli(['approve', 'web', '--env', 'production', '--comment', 'looks good'], {
      env: { SLIPWAY_TOKEN: tokens.get('approver@production')! },
    });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const { entries } = JSON.parse((await p.cli(['audit', '--env', 'production', '--json'])).stdout) as AuditResponse;
    const approvals = entries.filter((e) => e.action === 'approve').map((e) => [e.actor, e.outcome, e.reason]);
    assert.deepEqual(approvals, [
      ['deployer-production', 'FORBIDDEN', 'mine'],
      ['approver-staging', 'FORBIDDEN', 'x'],
      ['approver-production', 'ok', 'looks good'],
    ]);
    assert.ok(entries.every((e) => e.environment === 'production'));
  });

  it('refuses revoked and expired tokens with 401', async () => {
    const revoke = await p.cli(['tokens', 'revoke', 'viewer-all']);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await call('GET', '/v1/status', tokens.get('viewer@all'))).status, 401);
    assert.equal((await call('GET', '/v1/status', tokens.get('viewer@staging'))).status, 200);
    const soon = new Date(Date.now() + 5000).toISOString();
    const created = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'brief', '--expires', soon, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const brief = (JSON.parse(created.stdout) as TokenCreateResponse).value;
    values.push(brief);
    assert.equal((await call('GET', '/v1/status', brief)).status, 200);
    await waitFor('the token to expire', async () => (await call('GET', '/v1/status', brief)).status === 401, 20_000);
    const again = await p.cli(['tokens', 'revoke', 'viewer-all']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /TOKEN_NOT_FOUND|no live token/);
  });

  it('never writes a token value to the controller log or the state directory', () => {
    const dir = join(p.dir, '.slipway');
    const log = readFileSync(join(dir, 'controller.log'), 'utf8');
    assert.ok(log.length > 0);
    for (const v of values) assert.ok(!log.includes(v), 'a token value is in controller.log');
    // state.db (and its WAL) keep hashes only; the local admin token's own file and controller.json are the only copies of it.
    const db = readdirSync(dir)
      .filter((f) => f.startsWith('state.db'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
      .join('');
    for (const v of values) assert.ok(!db.includes(v), 'a token value is in the state database');
  });
});
