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
import type { z } from 'zod';

/**
 * What `GET /v1/openapi.json` says of a route, and what its requests are checked against before
 * the handler runs (a request that does not match is REQUEST_INVALID): schemas.ts has the shapes.
 */
export interface RouteDoc {
  /** One line for the reference. */
  summary: string;
  /** Groups the reference (e.g. "rollouts", "access"). */
  tag: string;
  /** Names of the pattern's capture groups, in order: `{service}` in the document's path. */
  params?: string[];
  /** Query parameters (`env` is added for routes that act on an environment). */
  query?: z.ZodObject;
  /** The JSON body. */
  body?: z.ZodType;
  /** The 200 answer: a JSON schema, or another media type and its description (metrics, NDJSON logs, the event stream). */
  response: z.ZodType | { contentType: string; description: string; schema?: z.ZodType };
  /** Another media type the 200 answer may have (on `Accept`), such as the event stream. */
  stream?: { contentType: string; description: string };
  /** The handler checks the body itself and answers in its own format (OFREP): the server does not. */
  checksBody?: boolean;
}

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
  /** The route in the OpenAPI document; every route has one (test/api/openapi.test.ts checks). */
  doc?: RouteDoc;
  /** Resolves to the JSON answer, or to RESPONDED when it wrote the response itself (a stream). */
  handler: (ctx: RouteContext) => Promise<unknown>;
}

/** What a handler that wrote its own response resolves to. */
export const RESPONDED = Symbol('responded');
