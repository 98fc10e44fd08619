import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { terminalLine, terminalText } from './terminal-text.js';

describe('terminalText', () => {
  it('shows CSI, OSC and bell as visible escapes, keeping newlines and tabs', () => {
    const payload = 'ok\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07\tdone\nnext';
    const shown = terminalText(payload);
    assert.equal(shown, 'ok\\x1b]0;pwned\\x07\\x1b[2J\\x1b]52;c;ZWNobyBoaQ==\\x07\tdone\nnext');
    // eslint-disable-next-line no-control-regex -- no raw escape or bell may remain
    assert.doesNotMatch(shown, /\x1b|\x07/);
  });

  it('escapes C1 controls (an 8-bit CSI), DEL and bidi overrides', () => {
    assert.equal(terminalText('a\u009b31mb\x7f\u202eevil'), 'a\\x9b31mb\\x7f\\u202eevil');
  });

  it('terminalLine escapes newlines and tabs too', () => {
    assert.equal(terminalLine('one\ntwo\tthree\r'), 'one\\ntwo\\tthree\\x0d');
  });

  it('is total: missing values print as nothing, not "undefined"', () => {
    assert.equal(terminalText(undefined), '');
    assert.equal(terminalLine(null), '');
    assert.equal(terminalLine(42), '42');
  });

  it('leaves ordinary text, including non-Latin scripts and emoji, alone', () => {
    const s = 'déploiement → 発行 ✓ 🚀';
    assert.equal(terminalText(s), s);
  });
});
