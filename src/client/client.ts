/**
 * The CLI's (and tests') way to the controller: typed calls over its HTTP API.
 * Finds the controller through .slipway/controller.json in the project directory.
 */
import { request } from 'node:http';
import { SlipwayError, isErrorBody } from '../core/errors.js';
import { pidAlive } from '../core/process.js';
import { projectPaths, readControllerFile, type ControllerFile } from '../controller/paths.js';
import { readTokenFile } from '../access/local-token.js';
import { parseEventStream, type StreamMessage } from './sse.js';
import type { EventRecord } from '../store/types.js';
import type {
  ApplyRequest,
  ApplyResponse,
  ApprovalRequest,
  PlanRequest,
  PlanResponse,
  DeployRequest,
  DeployResponse,
  EventsResponse,
  ExecContextResponse,
  RestartRequest,
  ScaleRequest,
  ScaleResponse,
  HistoryResponse,
  LogHostNotice,
  LogLine,
  RollbackRequest,
  RolloutResponse,
  RolloutView,
  ServiceStatus,
  ShipRequest,
  ShipResponse,
  StatusResponse,
} from '../api/types.js';
import type { ApiToken, AuditResponse, TokenCreateRequest, TokenCreateResponse, TokensResponse } from '../api/access-types.js';

export class ControllerClient {
  /** `env`: the environment every call acts on (`?env=`); without it the controller uses the config's default. */
  constructor(
    readonly info: ControllerFile,
    readonly env?: string,
    /** The API token sent; default: the one in `info` (controller.json). */
    private readonly token: string = info.token,
  ) {}

  /**
   * The running controller of the project, or undefined when none runs. The token is
   * $SLIPWAY_TOKEN, else the local admin token of .slipway/token, else controller.json's (ADR 0024).
   */
  static find(projectDir: string, env?: string): ControllerClient | undefined {
    const paths = projectPaths(projectDir);
    const info = readControllerFile(paths.controllerFile);
    if (!info || !pidAlive(info.pid)) return undefined;
    return new ControllerClient(info, env, process.env.SLIPWAY_TOKEN || readTokenFile(paths.tokenFile) || info.token);
  }

  static connect(projectDir: string, env?: string): ControllerClient {
    const c = ControllerClient.find(projectDir, env);
    if (!c) throw SlipwayError.of('CONTROLLER_NOT_RUNNING', `no controller runs for ${projectDir}`, { hint: 'Start it with: slipway up' });
    return c;
  }

  health(): Promise<{ ok: boolean; pid: number }> {
    return this.call('GET', '/v1/health');
  }
  status(): Promise<StatusResponse> {
    return this.call('GET', '/v1/status');
  }
  serviceStatus(service: string): Promise<ServiceStatus> {
    return this.call('GET', `/v1/services/${enc(service)}/status`);
  }
  history(service: string, limit = 50): Promise<HistoryResponse> {
    return this.call('GET', `/v1/services/${enc(service)}/history?limit=${limit}`);
  }
  apply(req: ApplyRequest = {}): Promise<ApplyResponse> {
    return this.call('POST', '/v1/apply', req);
  }
  deploy(service: string, req: DeployRequest): Promise<DeployResponse> {
    return this.call('POST', `/v1/services/${enc(service)}/deploy`, req);
  }
  /** Promotes to this client's environment (`env`) the release that succeeded in `req.from`. */
  ship(service: string, req: ShipRequest): Promise<ShipResponse> {
    return this.call('POST', `/v1/services/${enc(service)}/ship`, req);
  }
  rollback(service: string, req: RollbackRequest): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/rollback`, req);
  }
  restart(service: string, req: RestartRequest = {}): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/restart`, req);
  }
  scale(service: string, req: ScaleRequest): Promise<ScaleResponse> {
    return this.call('POST', `/v1/services/${enc(service)}/scale`, req);
  }
  execContext(service: string): Promise<ExecContextResponse> {
    return this.call('GET', `/v1/services/${enc(service)}/exec-context`);
  }
  rollout(id: number): Promise<RolloutResponse> {
    return this.call('GET', `/v1/rollouts/${id}`);
  }
  promote(service: string, full: boolean): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/promote`, { full });
  }
  pause(service: string): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/pause`, {});
  }
  resume(service: string): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/resume`, {});
  }
  abort(service: string, req: { reason?: string; by?: string }): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/abort`, req);
  }
  retry(service: string, by?: string): Promise<RolloutView> {
    return this.call('POST', `/v1/services/${enc(service)}/retry`, { by });
  }
  /** What a deploy would change, per service (builds to learn digests; records and starts nothing). */
  plan(req: PlanRequest): Promise<PlanResponse> {
    return this.call('POST', '/v1/plan', req);
  }
  /** Approves or rejects a deploy waiting in AwaitingApproval. */
  decide(req: ApprovalRequest): Promise<RolloutView> {
    return this.call('POST', '/v1/approvals', req);
  }
  events(opts: { service?: string; after?: number } = {}): Promise<EventsResponse> {
    const q = new URLSearchParams();
    if (opts.service) q.set('service', opts.service);
    if (opts.after) q.set('after', String(opts.after));
    return this.call('GET', `/v1/events?${q}`);
  }
  /** Every event recorded after id `after` (0: all), oldest first, read page by page (at most `maxPages`). */
  async eventsAfter(opts: { service?: string; after?: number } = {}, maxPages = 100): Promise<EventRecord[]> {
    const all: EventRecord[] = [];
    for (let page = 0; page < maxPages; page++) {
      const { events } = await this.events({ service: opts.service, after: all.at(-1)?.id ?? opts.after });
      if (events.length === 0) break;
      all.push(...events);
    }
    return all;
  }
  createToken(req: TokenCreateRequest): Promise<TokenCreateResponse> {
    return this.call('POST', '/v1/tokens', req);
  }
  tokens(): Promise<TokensResponse> {
    return this.call('GET', '/v1/tokens');
  }
  revokeToken(nameOrId: string): Promise<{ token: ApiToken }> {
    return this.call('POST', `/v1/tokens/${enc(nameOrId)}/revoke`, {});
  }
  /** Audit entries (of `env` when the client has one, else of every environment the token may see), oldest first. */
  audit(opts: { since?: string; service?: string; limit?: number } = {}): Promise<AuditResponse> {
    const q = new URLSearchParams();
    if (opts.since) q.set('since', opts.since);
    if (opts.service) q.set('service', opts.service);
    if (opts.limit) q.set('limit', String(opts.limit));
    return this.call('GET', `/v1/audit?${q}`);
  }
  /** Resolves once the controller has stopped what it was asked to, with what it could not stop. */
  shutdown(stopAll: boolean): Promise<{ ok: boolean; problems: string[] }> {
    return this.call('POST', '/v1/shutdown', { stopAll });
  }

  /** Streams NDJSON log lines until the server ends the response or `signal` aborts. */
  async logs(
    service: string,
    opts: { lines: number; follow: boolean; since?: string; signal?: AbortSignal },
    onLine: (l: LogLine) => void,
    /** A host of an ssh environment whose lines are missing (or follow again); ignored when not given. */
    onNotice?: (n: LogHostNotice) => void,
  ): Promise<void> {
    const since = opts.since === undefined ? '' : `&since=${encodeURIComponent(opts.since)}`;
    const res = await this.raw(
      'GET',
      `/v1/services/${enc(service)}/logs?lines=${opts.lines}&follow=${opts.follow ? 1 : 0}${since}`,
      undefined,
      opts.signal,
    );
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    let buf = '';
    for await (const chunk of res) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const parsed = JSON.parse(line) as LogLine | LogHostNotice;
        if ('problem' in parsed) onNotice?.(parsed);
        else onLine(parsed);
      }
    }
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    return JSON.parse(await text(res)) as T;
  }

  /** The same controller, acting on environment `env`. */
  inEnv(env: string | undefined): ControllerClient {
    return new ControllerClient(this.info, env, this.token);
  }

  /**
   * One connection to the event stream (`GET /v1/events`, server-sent events): calls `onMessage`
   * for each message until the server ends the stream or `signal` aborts. `after`: the id of the
   * last message received (Last-Event-ID), to continue without a gap. followEvents reconnects.
   */
  async eventStream(
    opts: { after?: string; service?: string; allEnvironments?: boolean; signal?: AbortSignal },
    onMessage: (m: StreamMessage) => void,
  ): Promise<void> {
    const q = new URLSearchParams();
    if (opts.service) q.set('service', opts.service);
    const path = `/v1/events${q.size ? `?${q}` : ''}`;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.after) headers['last-event-id'] = opts.after;
    const res = await (opts.allEnvironments ? this.inEnv(undefined) : this).raw('GET', path, undefined, opts.signal, headers);
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream'))
      throw SlipwayError.of('BAD_RESPONSE', 'the controller answered GET /v1/events without an event stream (an older controller?)');
    res.setEncoding('utf8');
    await parseEventStream(res, onMessage);
  }

  private raw(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<import('node:http').IncomingMessage> {
    if (this.env !== undefined) path += `${path.includes('?') ? '&' : '?'}env=${enc(this.env)}`;
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.info.port,
          method,
          path,
          signal,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...extraHeaders,
            ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        resolve,
      );
      req.on('error', (err) =>
        reject(
          SlipwayError.of('CONTROLLER_UNREACHABLE', `cannot reach the controller on 127.0.0.1:${this.info.port}: ${err.message}`, {
            hint: 'It may have stopped; run slipway up to start it again (instances keep serving meanwhile).',
          }),
        ),
      );
      req.end(data);
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

async function text(res: import('node:http').IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of res) s += chunk;
  return s;
}

async function errorOf(res: import('node:http').IncomingMessage): Promise<SlipwayError> {
  const body = await text(res);
  try {
    const parsed: unknown = JSON.parse(body);
    if (isErrorBody(parsed)) return SlipwayError.fromBody(parsed);
  } catch {
    /* not JSON */
  }
  return SlipwayError.of('BAD_RESPONSE', `controller answered ${res.statusCode}: ${body.slice(0, 200)}`);
}
