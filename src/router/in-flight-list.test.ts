import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightList, type Listed } from './in-flight-list.js';

interface Entry extends Listed {
  name: string;
}
const entry = (name: string): Entry => ({ name, list: null, listPrev: null, listNext: null });
const names = (l: InFlightList<Entry>) => l.toArray().map((e) => e.name);

test('entries join newest first and leave from the head, the middle and the tail', () => {
  const l = new InFlightList<Entry>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(entry) as [Entry, Entry, Entry, Entry];
  for (const e of [a, b, c, d]) l.add(e);
  assert.deepEqual(names(l), ['d', 'c', 'b', 'a']);
  assert.equal(l.size, 4);
  l.delete(c); // middle
  assert.deepEqual(names(l), ['d', 'b', 'a']);
  l.delete(d); // head
  assert.deepEqual(names(l), ['b', 'a']);
  l.delete(a); // tail
  assert.deepEqual(names(l), ['b']);
  l.delete(b);
  assert.deepEqual(names(l), []);
  assert.equal(l.size, 0);
});

test('an entry that left keeps no link, so a finished request holds no other one alive', () => {
  const l = new InFlightList<Entry>();
  const [a, b, c] = ['a', 'b', 'c'].map(entry) as [Entry, Entry, Entry];
  for (const e of [a, b, c]) l.add(e);
  l.delete(b);
  assert.deepEqual([b.list, b.listPrev, b.listNext], [null, null, null]);
  assert.equal(c.listNext, a);
  assert.equal(a.listPrev, c);
});

test('adding twice counts once; removing what is not in the list changes nothing', () => {
  const one = new InFlightList<Entry>();
  const other = new InFlightList<Entry>();
  const a = entry('a');
  const b = entry('b');
  one.add(a);
  one.add(a);
  assert.equal(one.size, 1);
  other.add(b);
  one.delete(b); // in another list
  one.delete(entry('c')); // in none
  assert.deepEqual(names(one), ['a']);
  assert.deepEqual(names(other), ['b']);
  one.delete(a);
  one.delete(a);
  assert.equal(one.size, 0);
});

test('the array is a copy: entries may leave while the caller walks it', () => {
  const l = new InFlightList<Entry>();
  for (const n of ['a', 'b', 'c']) l.add(entry(n));
  const seen: string[] = [];
  for (const e of l.toArray()) {
    seen.push(e.name);
    l.delete(e);
  }
  assert.deepEqual(seen, ['c', 'b', 'a']);
  assert.equal(l.size, 0);
});
