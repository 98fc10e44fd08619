/**
 * A client for HAProxy's Runtime API over its admin Unix socket (`stats socket PATH level admin`),
 * written against HAProxy 2.6. One connection per command (the socket's non-interactive mode:
 * HAProxy answers and closes), so an answer can never be mistaken for the next command's.
 *
 * HAProxy answers errors as free text on the same socket (no status code), so every command here
 * says what a successful answer looks like, and anything else is a HAPROXY_COMMAND_FAILED error
 * quoting the command and the answer.
 */
import { connect } from 'node:net';
import { SlipwayError } from '../../core/errors.js';

/** `srv_admin_state` bits (HAProxy's SRV_ADMF_*). */
export const ADMIN_FORCED_MAINT = 0x01;
export const ADMIN_FORCED_DRAIN = 0x08;
/** Any maintenance bit (forced, inherited, from config, resolution, health). */
const ADMIN_ANY_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const ADMIN_ANY_DRAIN = 0x08 | 0x10;

export type AdminState = 'ready' | 'drain' | 'maint';

/** One line of `show servers state`. */
export interface ServerState {
  backend: string;
  name: string;
  addr: string;
  port: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  adminBits: number;
  admin: AdminState;
  /** The weight set by the user (config or `set weight`), 0..256. */
  weight: number;
}

/** One server or backend row of `show stat` (the columns Slipway uses). */
export interface StatRow {
  proxy: string;
  name: string;
  /** Sessions (requests, in HTTP mode) in flight now. */
  current: number;
  /** Sessions since the process started. */
  total: number;
  byClass: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;
  /** Responses that failed (eresp) and connection errors (econ). */
  failedResponses: number;
  failedConnections: number;
  /** Status text: UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/3", "no check". */
  status: string;
  /** Average response time over the last 1024 requests, ms. */
  avgResponseMs: number;
}

export class RuntimeApi {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Sends one command and resolves with HAProxy's whole answer (text). Fails only when the socket does. */
  raw(command: string): Promise<string> {
    if (/[\n;]/.test(command)) {
      // A newline or ';' would make HAProxy run a second command from a config value.
      throw SlipwayError.of('HAPROXY_COMMAND_FAILED', `refusing to send a command with a newline or ';': ${JSON.stringify(command)}`);
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(this.socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          SlipwayError.of('HAPROXY_UNREACHABLE', `HAProxy did not answer \`${command}\` on ${this.socketPath} within ${this.timeoutMs}ms`, {
            hint: 'Is HAProxy running? `slipway status` shows the load balancer.',
          }),
        );
      }, this.timeoutMs);
      socket.on('connect', () => socket.end(`${command}\n`));
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(
          SlipwayError.of('HAPROXY_UNREACHABLE', `cannot reach HAProxy's admin socket ${this.socketPath}: ${err.message}`, {
            hint: 'Is HAProxy running? `slipway status` shows the load balancer.',
            cause: err,
          }),
        );
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
  }

  /**
   * Runs a command whose success HAProxy answers with `ok` (a pattern, or '' for an empty answer);
   * any other answer is an error quoting it.
   */
  async run(command: string, ok: RegExp | ''): Promise<string> {
    const answer = await this.raw(command);
    const text = answer.trim();
    const good = ok === '' ? text === '' : ok.test(text);
    if (!good) {
      throw SlipwayError.of('HAPROXY_COMMAND_FAILED', `HAProxy refused \`${command}\`: ${text || '(empty answer)'}`, {
        hint: 'The answer is HAProxy’s own; see docs/load-balancer.md for what Slipway sends and why.',
        details: { command, answer: text },
      });
    }
    return text;
  }

  /** `show info` as key → value (Pid, Uptime_sec, Version, …). */
  async info(): Promise<Record<string, string>> {
    const text = await this.run('show info', /^Name: HAProxy/m);
    const out: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return out;
  }

  /** Every server of `backend` as HAProxy holds it now. */
  async serverStates(backend: string): Promise<ServerState[]> {
    const text = await this.raw(`show servers state ${backend}`);
    return parseServersState(text, `show servers state ${backend}`);
  }

  /** `show stat` rows of backends and servers (typed request: -1 6 -1). */
  async stat(): Promise<StatRow[]> {
    const text = await this.raw('show stat -1 6 -1');
    return parseStat(text);
  }

  addServer(backend: string, name: string, addr: string, port: number, weight: number, check: string): Promise<string> {
    return this.run(
      `add server ${backend}/${name} ${addr}:${port} weight ${weight}${check ? ` ${check}` : ''}`,
      /^New server registered\.$/,
    );
  }

  /** Enables the health check of a server added at run time (they start with checks off). */
  enableHealth(backend: string, name: string): Promise<string> {
    return this.run(`enable health ${backend}/${name}`, '');
  }

  setWeight(backend: string, name: string, weight: number): Promise<string> {
    return this.run(`set weight ${backend}/${name} ${weight}`, '');
  }

  setState(backend: string, name: string, state: AdminState): Promise<string> {
    return this.run(`set server ${backend}/${name} state ${state}`, '');
  }

  /** Closes every connection of the server (the drain deadline). */
  shutdownSessions(backend: string, name: string): Promise<string> {
    return this.run(`shutdown sessions server ${backend}/${name}`, '');
  }

  /** Removes a server; HAProxy requires it in maintenance with no connection (active or idle) left. */
  delServer(backend: string, name: string): Promise<string> {
    return this.run(`del server ${backend}/${name}`, /^Server deleted\.$/);
  }
}

export function adminState(bits: number): AdminState {
  if (bits & ADMIN_ANY_MAINT) return 'maint';
  if (bits & ADMIN_ANY_DRAIN) return 'drain';
  return 'ready';
}

/**
 * Parses `show servers state` (format version 1: a version line, a `#` header naming the
 * columns, one line per server). Columns are found by name, so a later HAProxy adding columns
 * does not break it; an answer that is not a table (an error) is HAPROXY_BAD_ANSWER.
 */
export function parseServersState(text: string, command = 'show servers state'): ServerState[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (lines[0]?.trim() !== '1' || header === undefined) {
    throw SlipwayError.of(
      'HAPROXY_BAD_ANSWER',
      `HAProxy answered \`${command}\` with something that is not a server table: ${text.trim().slice(0, 200)}`,
      {
        hint: 'An unknown backend is answered this way; the load balancer’s config may not be the one Slipway wrote.',
      },
    );
  }
  const cols = header.slice(2).trim().split(/\s+/);
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw SlipwayError.of('HAPROXY_BAD_ANSWER', `\`${command}\` has no column ${name} (columns: ${cols.join(' ')})`);
    return i;
  };
  const [be, nm, ad, po, op, adm, uw] = [
    'be_name',
    'srv_name',
    'srv_addr',
    'srv_port',
    'srv_op_state',
    'srv_admin_state',
    'srv_uweight',
  ].map(at) as [number, number, number, number, number, number, number];
  return lines
    .filter((l) => !l.startsWith('#') && l.trim() !== '1')
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const adminBits = Number(f[adm]);
      return {
        backend: f[be]!,
        name: f[nm]!,
        addr: f[ad]!,
        port: Number(f[po]),
        opState: Number(f[op]),
        adminBits,
        admin: adminState(adminBits),
        weight: Number(f[uw]),
      };
    });
}

/** Parses `show stat` CSV (header `# pxname,svname,…`), by column name. */
export function parseStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!lines[0]?.startsWith('# ')) {
    throw SlipwayError.of(
      'HAPROXY_BAD_ANSWER',
      `HAProxy answered \`show stat\` with something that is not CSV: ${text.trim().slice(0, 200)}`,
    );
  }
  const cols = lines[0].slice(2).split(',');
  const idx = (name: string) => cols.indexOf(name);
  const num = (f: string[], name: string) => {
    const i = idx(name);
    const v = i < 0 ? '' : (f[i] ?? '');
    return v === '' ? 0 : Number(v);
  };
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return {
      proxy: f[idx('pxname')]!,
      name: f[idx('svname')]!,
      current: num(f, 'scur'),
      total: num(f, 'stot'),
      byClass: {
        '1xx': num(f, 'hrsp_1xx'),
        '2xx': num(f, 'hrsp_2xx'),
        '3xx': num(f, 'hrsp_3xx'),
        '4xx': num(f, 'hrsp_4xx'),
        '5xx': num(f, 'hrsp_5xx'),
      },
      failedResponses: num(f, 'eresp'),
      failedConnections: num(f, 'econ'),
      status: f[idx('status')] ?? '',
      avgResponseMs: num(f, 'rtime'),
    };
  });
}
