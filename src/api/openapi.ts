/**
 * The OpenAPI 3.1 document of the controller's API (`GET /v1/openapi.json`, ADR 0027), built from
 * the route table: each entry's pattern, role and `doc` (route.ts), its schemas (schemas.ts)
 * converted with zod's own `z.toJSONSchema` (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
 * Named schemas become `components.schemas`; every operation needs the bearer token and answers
 * errors as `Error`.
 */
import { z } from 'zod';
import type { ApiRoute, RouteDoc } from './route.js';
import { apiRegistry } from './schemas.js';
import { ERROR_KINDS } from '../core/errors.js';

type Json = Record<string, unknown>;

const REF = (id: string) => `#/components/schemas/${id}`;

/** A schema as JSON Schema, named parts referred to in components. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', metadata: apiRegistry }) as Json;
  // Named parts come out in $defs: they are in components already (from the same registry), so refer there.
  const own = out.$ref as string | undefined;
  const defs = (out.$defs ?? {}) as Record<string, Json>;
  delete out.$schema;
  delete out.$defs;
  const text = JSON.stringify(own && defs[own.replace('#/$defs/', '')] ? { $ref: own } : out).replaceAll(
    '"#/$defs/',
    '"#/components/schemas/',
  );
  return JSON.parse(text) as Json;
}

/** The path of a route's pattern in OpenAPI form: `^\/v1\/services\/([^/]+)\/status$` → `/v1/services/{service}/status`. */
export function openApiPath(route: Pick<ApiRoute, 'pattern' | 'doc'>): string {
  const names = [...(route.doc?.params ?? [])];
  let i = 0;
  return route.pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\((?:\[\^\/\]\+|\\d\+)\)/g, () => `{${names[i++] ?? `param${i}`}}`)
    .replaceAll('\\/', '/')
    .replaceAll('\\.', '.');
}

const STATUS_OF_KIND: Record<string, string> = {};
for (const [kind, { httpStatus }] of Object.entries(ERROR_KINDS)) STATUS_OF_KIND[String(httpStatus)] ??= kind;

export function openApiDocument(routes: ApiRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.public) continue; // the dashboard's files (dashboard-routes.ts), not the API
    const doc: RouteDoc = route.doc ?? { summary: '(not documented)', tag: 'other', response: z.unknown() };
    const path = openApiPath(route);
    const parameters: Json[] = [];
    const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    for (const name of pathNames)
      parameters.push({ name, in: 'path', required: true, schema: { type: name === 'id' ? 'integer' : 'string' } });
    // Routes of one environment take `?env=`; project-wide ones that filter by it say so in their query.
    if ((route.scope ?? 'environment') === 'environment')
      parameters.push({
        name: 'env',
        in: 'query',
        required: false,
        description: "the environment acted on (default: slipway.yaml's `default:`, or its only one)",
        schema: { type: 'string' },
      });
    if (doc.query) {
      const q = jsonSchema(doc.query, 'input') as { properties?: Record<string, Json> };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: false, ...(description ? { description } : {}), schema: rest });
      }
    }
    const ok: Json =
      doc.response instanceof z.ZodType
        ? { description: 'OK', content: { 'application/json': { schema: jsonSchema(doc.response, 'output') } } }
        : {
            description: doc.response.description,
            content: {
              [doc.response.contentType]: { schema: doc.response.schema ? jsonSchema(doc.response.schema, 'output') : { type: 'string' } },
            },
          };
    if (doc.stream)
      (ok.content as Record<string, Json>)[doc.stream.contentType] = { schema: { type: 'string', description: doc.stream.description } };
    const errors: Record<string, Json> = {};
    for (const status of ['400', '401', '403', '404', '409', '422', '500', '503'])
      errors[status] = { $ref: `#/components/responses/${STATUS_OF_KIND[status] ?? 'error'}` };
    const operation: Json = {
      operationId: operationId(route.method, path),
      summary: doc.summary,
      tags: [doc.tag],
      description: `Needs the **${route.role}** role${route.scope === 'project' ? '' : ' for the environment'}.${route.audit ? ' Recorded in the audit log.' : ''}`,
      security: [{ bearer: [] }],
      'x-slipway-role': route.role,
      ...(parameters.length ? { parameters } : {}),
      ...(doc.body ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
      responses: { '200': ok, ...errors },
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  const components = z.toJSONSchema(apiRegistry, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any', uri: REF }) as {
    schemas: Record<string, Json>;
  };
  for (const s of Object.values(components.schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  const responses: Record<string, Json> = {};
  for (const kind of new Set(Object.values(STATUS_OF_KIND)))
    responses[kind] = {
      description: `An error of kind \`${kind}\`${kind === 'invalid' ? ' (a request that does not match its schema: REQUEST_INVALID)' : ''}; its code is in docs/errors.md.`,
      content: { 'application/json': { schema: { $ref: REF('Error') } } },
    };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Slipway controller API',
      version,
      description:
        "The controller's HTTP API: the only way in for the CLI and the dashboard (docs/api.md). Every request carries a bearer token (docs/access-control.md).",
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '7070', description: 'from .slipway/controller.json' } } }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from `slipway tokens create` (or .slipway/token)' },
      },
      schemas: components.schemas,
      responses,
    },
  };
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/v1\//, '/')
    .split(/[/-]/)
    .filter(Boolean)
    .map((w) => (w.startsWith('{') ? `By${cap(w.slice(1, -1))}` : cap(w)));
  return method.toLowerCase() + words.join('');
}

function cap(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1);
}
