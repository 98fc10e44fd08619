import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRules, cookieRelease, ruleRelease, stickyCookie, stickyCookieName } from './steering.js';

test('a rule matches when every listed header is present: names case-insensitive, values exact', () => {
  const rules = compileRules([
    { match: { header: { 'X-Canary': 'yes', 'X-User': 'qa' } }, release: 2 },
    { match: { header: { 'x-beta': '1' } }, release: 3 },
  ]);
  const any = () => true;
  assert.equal(ruleRelease(rules, ['x-canary', 'yes', 'X-USER', 'qa'], any), 2);
  assert.equal(ruleRelease(rules, ['X-Canary', 'yes'], any), -1, 'one header of two is not a match');
  assert.equal(ruleRelease(rules, ['X-Canary', 'Yes', 'X-User', 'qa'], any), -1, 'values are exact');
  assert.equal(ruleRelease(rules, ['X-Beta', '0', 'X-Beta', '1'], any), 3, 'any occurrence of a repeated header');
  assert.equal(
    ruleRelease(rules, ['X-Canary', 'yes', 'X-User', 'qa', 'X-Beta', '1'], (r) => r !== 2),
    3,
    'a rule whose release cannot serve is skipped',
  );
  assert.equal(ruleRelease([], ['X-Beta', '1'], any), -1);
});

test('the sticky cookie is read among others and written with its attributes', () => {
  const name = stickyCookieName('web');
  assert.equal(name, 'slipway_web');
  assert.equal(stickyCookie(name, 7), 'slipway_web=7; Path=/; HttpOnly; SameSite=Lax');
  assert.equal(cookieRelease(['Cookie', 'a=b; slipway_web=12; c=d'], name), 12);
  assert.equal(cookieRelease(['cookie', 'a=b', 'COOKIE', 'slipway_web=3'], name), 3);
  assert.equal(cookieRelease(['Cookie', 'slipway_webx=3; xslipway_web=4'], name), -1, 'only the exact name');
  assert.equal(cookieRelease(['Cookie', 'slipway_web=abc'], name), -1, 'not a release number');
  assert.equal(cookieRelease(['Cookie', 'slipway_web=-1'], name), -1);
  assert.equal(cookieRelease(['X-Cookie', 'slipway_web=1'], name), -1);
});
