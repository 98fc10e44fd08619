import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../core/wait-for.js';
import { DEFAULT_RESTART_POLICY, type InstanceSpec } from '../driver.js';
import { LocalDriver } from './local-driver.js';

describe('LocalDriver: secret values are asked for at every start and stored nowhere', () => {
  /** Written nowhere but in the values, so finding it anywhere else is a leak. */
  const SUFFIX = randomBytes(6).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-secret-env-'));
  let driver: LocalDriver | undefined;
  afterEach(async () => {
    for (const s of driver?.list() ?? []) await driver!.stop(s.id, { timeoutMs: 1000 }).catch(() => {});
    await driver?.detach();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const spec = (id: string, command: string): InstanceSpec => ({
    id,
    service: 'web',
    release: 1,
    releaseDir: dir,
    command,
    env: { PLAIN: 'plain-setting' },
    secrets: ['API_KEY'],
    logMaxBytes: 1e6,
    logFiles: 1,
    restart: { ...DEFAULT_RESTART_POLICY, initialBackoffMs: 50 },
  });

  it('the process gets the value at the first start and again at a restart; instances.json never holds it', async () => {
    const asked: string[] = [];
    let n = 0;
    driver = new LocalDriver({
      stateDir: join(dir, 'state'),
      secretEnv: async (s) => {
        asked.push(s.id);
        return { API_KEY: `value-${++n}-${SUFFIX}` };
      },
    });
    await driver.init();
    // Prints the length of the value and its start ("value-N"), then exits 0 after a while: a restart follows.
    await driver.start(spec('web-1-a', 'echo "len=${#API_KEY} head=${API_KEY%-*}"; sleep 0.3; exit 1'));
    await waitFor('a restart', () => asked.length >= 2 && driver!.list()[0]!.restarts >= 1, 10_000);
    const log = await waitFor(
      'both starts in the log',
      async () => {
        const lines = await driver!.logTail('web-1-a', 20);
        return lines.filter((l) => l.includes('head=')).length >= 2 && lines;
      },
      10_000,
    );
    assert.ok(
      log.some((l) => l.includes(`len=${8 + SUFFIX.length} head=value-1`)),
      log.join('\n'),
    );
    assert.ok(
      log.some((l) => l.includes('head=value-2')),
      'the restart asked again and got the new answer',
    );
    for (const f of readdirSync(join(dir, 'state'))) {
      if (!f.endsWith('.json')) continue;
      const text = readFileSync(join(dir, 'state', f), 'utf8');
      assert.ok(!text.includes(SUFFIX), `${f} holds a secret value`);
      assert.ok(text.includes('"API_KEY"'), 'the names are kept, for the next start');
    }
  });

  it('a start whose secrets cannot be had fails with the reason (never a value), and nothing runs', async () => {
    driver = new LocalDriver({
      stateDir: join(dir, 'state2'),
      secretEnv: async () => {
        throw new Error('no secrets key to start instances with secrets');
      },
    });
    await driver.init();
    await assert.rejects(driver.start(spec('web-1-b', 'sleep 5')), (e) => (e as Error).message.includes('no secrets key'));
    assert.equal(driver.list().length, 0);
  });
});
