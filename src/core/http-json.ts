import type { IncomingMessage, ServerResponse } from 'node:http';
import { SlipwayError } from './errors.js';

/**
 * JSON over HTTP for Slipway's two APIs (the controller's and the router's admin API): one reader,
 * one writer, one error shape, one name for each failure.
 */

const bodies = new WeakMap<IncomingMessage, Promise<unknown>>();

/**
 * Reads a JSON request body (at most 1 MiB); an empty body is `{}`. Read once per request: a
 * second call (the API server's audit after a handler) gets the same answer.
 */
export function readJson<T>(req: IncomingMessage): Promise<T> {
  let body = bodies.get(req);
  if (!body) {
    body = readBody(req);
    bodies.set(req, body);
  }
  return body as Promise<T>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw SlipwayError.of('BODY_TOO_LARGE', 'request body over 1 MiB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw SlipwayError.of('BAD_JSON', 'request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

/** Answers `err` as `ErrorBody` JSON with its kind's status (or cuts a response already begun); returns it, for logging. */
export function sendError(res: ServerResponse, err: unknown): SlipwayError {
  const e = SlipwayError.from(err);
  if (res.headersSent) res.destroy();
  else sendJson(res, e.httpStatus, e.toBody());
  return e;
}
