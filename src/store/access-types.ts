/** Records of access control kept by the store: API tokens (hashed) and the audit log (ADR 0024). */

/** What a token may do; each role includes the ones before it (src/access/roles.ts). */
export type Role = 'viewer' | 'deployer' | 'approver' | 'admin';

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  /** The environments it may act on; null: all of them. */
  environments: string[] | null;
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export type NewApiToken = Omit<ApiToken, 'id' | 'revokedAt'> & {
  /** Hex SHA-256 of the token's value; the value itself is never stored. */
  hash: string;
};

export interface AuditEntry {
  id: number;
  at: number;
  /** The name of the token that asked (or "controller" for what it did by itself). */
  actor: string;
  /** e.g. deploy, promote, approve, token.create. */
  action: string;
  environment: string | null;
  service: string | null;
  before: unknown;
  after: unknown;
  reason: string;
  /** "ok", or the stable code of the error that refused it. */
  outcome: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'before' | 'after' | 'reason' | 'environment' | 'service'> & {
  at?: number;
  environment?: string | null;
  service?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string;
};
