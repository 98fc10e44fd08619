/** The access-control endpoints: tokens (admin) and the audit log (every role). */
import { SlipwayError } from '../core/errors.js';
import { readJson } from '../core/http-json.js';
import { parseSince } from '../drivers/local/log-line.js';
import type { ProjectController } from '../controller/project-controller.js';
import { createToken, findLiveToken } from '../access/tokens.js';
import { environmentAllowed } from '../access/roles.js';
import type { ApiRoute } from './route.js';
import type { AuditResponse, TokenCreateRequest, TokenCreateResponse, TokensResponse } from './access-types.js';

const AGE = /^(\d+)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function accessRoutes(project: ProjectController): ApiRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/v1\/tokens$/,
      role: 'admin',
      scope: 'project',
      audit: 'token.create',
      handler: async ({ req, principal, auditDetail }) => {
        const body = await readJson<TokenCreateRequest>(req);
        const now = project.clock.now();
        const environments = body.environments?.length ? [...new Set(body.environments)] : null;
        const { token, value } = await createToken(project.store, {
          name: body.name ?? `${body.role}-${now.toString(36)}`,
          role: body.role,
          environments,
          expiresAt: body.expires === undefined ? null : expiry(body.expires, now),
          createdBy: principal.name,
          now,
        });
        auditDetail({ after: { id: token.id, name: token.name, role: token.role, environments, expiresAt: token.expiresAt } });
        return { token, value } satisfies TokenCreateResponse;
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/tokens$/,
      role: 'admin',
      scope: 'project',
      handler: async () => ({ tokens: await project.store.listTokens() }) satisfies TokensResponse,
    },
    {
      method: 'POST',
      pattern: /^\/v1\/tokens\/([^/]+)\/revoke$/,
      role: 'admin',
      scope: 'project',
      audit: 'token.revoke',
      handler: async ({ params, auditDetail }) => {
        const t = await findLiveToken(project.store, params[0]!);
        const revoked = (await project.store.revokeToken(t.id, project.clock.now())) ?? t;
        auditDetail({
          before: { id: t.id, name: t.name, role: t.role, environments: t.environments },
          after: { revokedAt: revoked.revokedAt },
        });
        return { token: revoked };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/audit$/,
      role: 'viewer',
      scope: 'project',
      handler: async ({ query, principal }) => {
        const sinceText = query.get('since');
        const now = project.clock.now();
        const since = sinceText === null ? undefined : parseSince(sinceText, now);
        if (since === undefined && sinceText !== null)
          throw SlipwayError.of('AUDIT_SINCE_INVALID', `since=${sinceText} is not a time`, {
            hint: 'Give an age such as 90m, 2h or 7d, or an ISO 8601 time (2026-11-29T15:45:00Z).',
          });
        const entries = await project.store.listAudit({
          since,
          service: query.get('service') ?? undefined,
          environment: query.get('env') ?? undefined,
          limit: Math.min(Number(query.get('limit') ?? 1000) || 1000, 10_000),
        });
        // A token limited to some environments sees their entries and the project-wide ones.
        const visible = entries.filter((e) => e.environment === null || environmentAllowed(principal.environments, e.environment));
        return { entries: visible } satisfies AuditResponse;
      },
    },
  ];
}

/** When a token given `--expires TEXT` at `now` expires. */
function expiry(text: string, now: number): number {
  const age = AGE.exec(text.trim());
  if (age) return now + Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS];
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/^\d{4}-\d\d-\d\d/.test(text.trim()))
    throw SlipwayError.of('TOKEN_REQUEST_INVALID', `--expires ${text} is neither an age nor a time`, {
      hint: 'Give an age such as 30d, 12h or 90m, or an ISO 8601 time (2027-01-31T00:00:00Z).',
    });
  return at;
}
