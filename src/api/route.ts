/**
 * One entry of the controller API's route table. Access is a property of the entry: `role` is the
 * least role that may call it, checked with the token's environments in one place (server.ts);
 * `audit` names the action recorded in the audit log for each call. A new route declares both
 * and is covered by the every-endpoint tests (test/api/auth.test.ts, test/api/access.test.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Controller } from '../controller/controller.js';
import type { Principal } from '../access/tokens.js';
import type { Role } from '../access/roles.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  /** The controller of the environment the request names (`?env=`, else the default one); its environment is checked against the token's. */
  c: Controller;
  /** Who asks. */
  principal: Principal;
  /** For `scope: 'project'` routes that find their environment themselves: throws FORBIDDEN unless the token may act on it. */
  allowEnvironment(environment: string): void;
  /** What the audit entry should say, where the handler knows better than the generic before/after. */
  auditDetail(d: {
    action?: string;
    before?: unknown;
    after?: unknown;
    reason?: string;
    environment?: string | null;
    service?: string | null;
  }): void;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  pattern: RegExp;
  /** The least role allowed (each role includes the ones before it: viewer, deployer, approver, admin). */
  role: Role;
  /**
   * `environment` (default): acts on the environment of `?env=`. `project`: on the whole project
   * (tokens, shutdown) or an environment the handler finds (`allowEnvironment`); a token limited to
   * some environments may only call those that need no more than the viewer role.
   */
  scope?: 'environment' | 'project';
  /**
   * Served without a token, before any authentication: only the dashboard's static files (the
   * page and its hashed assets), which hold no data. Every data call goes through the routes above.
   */
  public?: true;
  /** Recorded in the audit log under this action (e.g. "deploy"), or the one the request body names; absent for reads. */
  audit?: string | ((body: Record<string, unknown>) => string);
  /** Resolves to the JSON answer, or to RESPONDED when it wrote the response itself (a stream). */
  handler: (ctx: RouteContext) => Promise<unknown>;
}

/** What a handler that wrote its own response resolves to. */
export const RESPONDED = Symbol('responded');
