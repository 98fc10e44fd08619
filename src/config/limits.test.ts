/**
 * Bad input is bounded: a config over 1 MiB is refused before it is read whole, and a YAML alias
 * bomb is refused instead of expanded; both as `invalid` (exit 2) with their own codes.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, MAX_CONFIG_BYTES, parseConfigText } from './load.js';
import { SlipwayError } from '../core/errors.js';

/** A "billion laughs" document: 9 levels of 9 aliases each would expand to 9^9 leaves. */
export function aliasBomb(levels = 9): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  return ['app: bomb', ...lines, 'services: {}', ''].join('\n');
}

describe('config input limits', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-limits-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a config over 1 MiB, naming the file and the limit', () => {
    const file = join(dir, 'slipway.yaml');
    // A valid start, then a comment padding it just past the limit, written in pieces.
    const fd = openSync(file, 'w');
    writeSync(fd, 'app: big\nservices: {}\n# ');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let written = 0; written <= MAX_CONFIG_BYTES; written += chunk.length) writeSync(fd, chunk);
    closeSync(fd);
    assert.throws(
      () => loadConfig(file),
      (e: unknown) =>
        e instanceof SlipwayError &&
        e.code === 'CONFIG_TOO_LARGE' &&
        e.exitCode === 2 &&
        e.message.includes(file) &&
        e.message.includes('1.0 MiB') &&
        /right file/.test(e.hint ?? ''),
    );
  });

  it('reads a config of exactly the limit', () => {
    const file = join(dir, 'slipway.yaml');
    const head = 'app: edge\nservices: {}\n#';
    writeFileSync(file, head + 'x'.repeat(MAX_CONFIG_BYTES - head.length));
    assert.throws(
      () => loadConfig(file),
      (e: unknown) => e instanceof SlipwayError && e.code === 'CONFIG_INVALID',
    );
  });

  it('refuses an alias bomb, naming the limit, and quickly', () => {
    const started = Date.now();
    assert.throws(
      () => parseConfigText(aliasBomb(), 'bomb.yaml'),
      (e: unknown) =>
        e instanceof SlipwayError &&
        e.code === 'CONFIG_TOO_MANY_ALIASES' &&
        e.exitCode === 2 &&
        e.message.includes('bomb.yaml') &&
        e.message.includes('100'),
    );
    assert.ok(Date.now() - started < 5000, 'the bomb was expanded instead of refused');
  });

  it('still allows anchors that share a few settings', () => {
    const text = [
      'app: shared',
      'x-health: &health { path: /healthz, interval: 1s }',
      'services:',
      '  a: { source: ., start: node a.js, port: 8001, health: *health }',
      '  b: { source: ., start: node b.js, port: 8002, health: *health }',
      '',
    ].join('\n');
    assert.throws(
      () => parseConfigText(text, 'shared.yaml'),
      (e: unknown) => e instanceof SlipwayError && e.code === 'CONFIG_INVALID' && !/alias/i.test(e.message),
    );
  });
});
