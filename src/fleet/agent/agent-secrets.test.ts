import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { DEFAULT_RESTART_POLICY, type InstanceSpec } from '../../drivers/driver.js';
import { AgentSecrets } from './agent-secrets.js';

const spec = (release: number, secrets: string[]): InstanceSpec => ({
  id: `web.production-${release}-abc`,
  service: 'web.production',
  release,
  releaseDir: '',
  command: '',
  env: {},
  secrets,
  logMaxBytes: 1024,
  logFiles: 1,
  restart: DEFAULT_RESTART_POLICY,
});

describe("the agent's secret files", () => {
  const root = mkdtempSync(join(tmpdir(), 'slipway-agent-secrets-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const secrets = new AgentSecrets(join(root, 'secrets'));

  it("keeps a release's values in a 0600 file of a 0700 directory and gives an instance the ones its spec names", async () => {
    secrets.put('web.production', 2, { API_KEY: 'k-2', OTHER: 'o-2' });
    assert.equal(statSync(join(root, 'secrets')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'secrets', 'web.production@2.json')).mode & 0o777, 0o600);
    assert.deepEqual(await secrets.envFor(spec(2, ['API_KEY'])), { API_KEY: 'k-2' });
    assert.deepEqual(await secrets.envFor(spec(2, [])), {});
  });

  it('refuses a start whose values the host lacks, naming the secret and never a value', async () => {
    await assert.rejects(secrets.envFor(spec(3, ['API_KEY'])), (e) => {
      const err = e as SlipwayError;
      return err.code === 'FLEET_ROLL_FAILED' && err.message.includes('API_KEY') && !err.message.includes('k-2');
    });
  });

  it('removes the files of releases no instance runs any more', () => {
    secrets.put('web.production', 3, { API_KEY: 'k-3' });
    secrets.prune(new Set(['web.production@3']));
    assert.deepEqual(readdirSync(join(root, 'secrets')), ['web.production@3.json']);
    secrets.prune(new Set());
    assert.equal(existsSync(join(root, 'secrets', 'web.production@3.json')), false);
  });
});
