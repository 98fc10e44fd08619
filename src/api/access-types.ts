/** Request and response types of the access-control endpoints (tokens, audit); shared by server, client and CLI. */
import type { ApiToken, AuditEntry, Role } from '../store/access-types.js';

export type { ApiToken, AuditEntry, Role };

export interface TokenCreateRequest {
  name?: string;
  role: Role;
  /** Absent or empty: every environment. */
  environments?: string[];
  /** An age such as 30d, 12h or 90m, or an ISO 8601 time. Absent: never expires. */
  expires?: string;
}

export interface TokenCreateResponse {
  token: ApiToken;
  /** The token itself: shown once, stored nowhere (only its SHA-256 is kept). */
  value: string;
}

export interface TokensResponse {
  tokens: ApiToken[];
}

export interface AuditResponse {
  entries: AuditEntry[];
}
