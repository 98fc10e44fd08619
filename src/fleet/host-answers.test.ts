import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostAnswers } from './host-answers.js';

describe('HostAnswers', () => {
  it('answers within the deadline for a host that hangs, unreachable since then, with what it last said', async () => {
    let now = 1000;
    const a = new HostAnswers<string>(() => now);
    const ok = await a.ask('h1', async () => 'routes v1');
    assert.deepEqual(ok, { ok: true, value: 'routes v1', since: 1000 });
    now = 2000;
    let fail!: (e: Error) => void;
    let asked = 0;
    const hanging = () => {
      asked++;
      return new Promise<string>((_, reject) => (fail = reject));
    };
    const hung = await a.ask('h1', hanging, 20);
    assert.equal(hung.ok, false);
    if (hung.ok) return;
    assert.equal(hung.error.code, 'SSH_UNREACHABLE');
    assert.equal(hung.since, 2000);
    assert.deepEqual(hung.last, { value: 'routes v1', at: 1000 });
    now = 3000;
    // Asked again while the first question still hangs: no second question, no second wait.
    const again = await a.ask('h1', hanging, 20);
    assert.deepEqual([again.ok, asked], [false, 1]);
    fail(new Error('connection lost'));
    await new Promise((r) => setImmediate(r));
    const still = await a.ask('h1', () => Promise.reject(new Error('connection lost')), 20);
    assert.deepEqual([still.ok, still.since], [false, 2000], 'unreachable since it first failed');
    now = 4000;
    const back = await a.ask('h1', async () => 'routes v2');
    assert.deepEqual(back, { ok: true, value: 'routes v2', since: 4000 });
  });
});
