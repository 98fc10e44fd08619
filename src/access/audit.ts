/**
 * The audit log: who changed what, when, from what to what, why, and how it ended. Entries are
 * append-only (the store's triggers refuse UPDATE and DELETE). API routes that change something
 * are recorded by the server from their `audit` action (src/api/server.ts); anything else records
 * its own with one call: `await audit(store, { actor, action, environment, service, before, after, reason, outcome })`.
 */
import type { Store } from '../store/store.js';
import type { AuditEntry, NewAuditEntry } from '../store/access-types.js';

export type { AuditEntry, NewAuditEntry };

export function audit(store: Store, entry: NewAuditEntry): Promise<AuditEntry> {
  return store.appendAudit(entry);
}
