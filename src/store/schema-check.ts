/**
 * Whether a database has the schema its recorded migrations promise: every table and index the
 * migrations create, defined the same way. Extra objects are tolerated (a later Slipway's tables
 * are caught by the version check instead).
 */
import Database from 'better-sqlite3';
import type { Migration } from './migrations.js';

interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

/** A sentence naming the first difference, or undefined when the schema is the expected one. */
export function schemaDifference(db: Database.Database, migrations: Migration[]): string | undefined {
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const expected = expectedSchema(migrations.filter((m) => applied.has(m.version)));
  const actual = new Map(objects(db).map((o) => [o.name, o]));
  for (const want of expected) {
    const got = actual.get(want.name);
    if (!got) return `${want.type} "${want.name}" is missing`;
    if (got.type !== want.type || normalise(got.sql) !== normalise(want.sql)) return `${want.type} "${want.name}" is defined differently`;
  }
  return undefined;
}

const cache = new Map<string, SchemaObject[]>();

/** The objects a fresh database gets from these migrations (computed once, in memory). */
function expectedSchema(migrations: Migration[]): SchemaObject[] {
  const key = migrations
    .map((m) => m.version)
    .sort((a, b) => a - b)
    .join(',');
  let schema = cache.get(key);
  if (!schema) {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) db.exec(m.sql);
      schema = objects(db);
    } finally {
      db.close();
    }
    cache.set(key, schema);
  }
  return schema;
}

function objects(db: Database.Database): SchemaObject[] {
  return db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as SchemaObject[];
}

function normalise(sql: string | null): string {
  return (sql ?? '').replace(/\s+/g, ' ').trim();
}
