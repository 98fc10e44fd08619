/** Whether a value is of a flag type: the one check the file, the API and the evaluator share. Pure. */
import type { FlagType } from './types.js';

export function isOfType(type: FlagType, value: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'object':
      return typeof value === 'object' && value !== null;
  }
}

/** "true (a boolean)", for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  const kind = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
  return `${JSON.stringify(value)?.slice(0, 40)} (${kind})`;
}
