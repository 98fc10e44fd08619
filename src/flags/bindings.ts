import type { EvaluationContext } from './types.js';

/**
 * The CEL variables of a context: each top-level attribute by its name (so `user.country` reads
 * `{ user: { country } }`), and the targeting key as `targetingKey` and, when the context has no
 * `user.id`, as `user.id`. memo.ts mirrors this when it reads the values a rule names.
 */
export function celBindings(context: EvaluationContext): Record<string, unknown> {
  const key = context.targetingKey;
  if (key === undefined) return context;
  const user = context.user;
  if (user !== null && typeof user === 'object' && (user as { id?: unknown }).id !== undefined) return context;
  return { ...context, user: { ...(typeof user === 'object' && user !== null ? user : {}), id: key } };
}
