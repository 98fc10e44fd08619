import { posix } from 'node:path';

/** Linux gives up after 40 links in one lookup; anything deeper we refuse rather than guess. */
const MAX_HOPS = 40;

/** Why a symlink is unsafe, or null when it stays inside the tree. */
export type LinkVerdict = null | 'absolute' | 'escapes' | 'too-deep';

/**
 * Decides whether the symlink at `linkPath` (relative to the tree root, parents being real
 * directories) resolves inside the tree, following the other links in `links` the way the kernel
 * does: a `..` after a symlink applies to the link's target, not to the text before it. A purely
 * textual check would miss `a/up -> ..` followed by `a/t -> up/../x`, which lands outside.
 * Dangling targets are fine: they cannot reach outside.
 */
export function checkLink(linkPath: string, target: string, links: ReadonlyMap<string, string>): LinkVerdict {
  if (posix.isAbsolute(target)) return 'absolute';
  const stack = segments(posix.dirname(linkPath));
  const queue = segments(target);
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') {
      if (stack.length === 0) return 'escapes';
      stack.pop();
      continue;
    }
    stack.push(part);
    const next = links.get(stack.join('/'));
    if (next === undefined) continue;
    if (++hops > MAX_HOPS) return 'too-deep';
    if (posix.isAbsolute(next)) return 'absolute';
    stack.pop();
    queue.unshift(...segments(next));
  }
  return null;
}

/** Human wording for a verdict, used in error messages. */
export function describeVerdict(verdict: Exclude<LinkVerdict, null>): string {
  switch (verdict) {
    case 'absolute':
      return 'has an absolute target';
    case 'escapes':
      return 'points outside the release directory';
    case 'too-deep':
      return 'resolves through too many links';
  }
}

function segments(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}
