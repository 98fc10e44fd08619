/**
 * An OpenFeature server provider for Node.js that evaluates Slipway's flags in-process (ADR 0023):
 * it fetches the flag set once (`GET /v1/flag-definitions`), evaluates locally with the same
 * evaluator as the controller (src/flags/, so the results are the same, shared test vectors), and
 * follows changes on the controller's server-sent events stream, reconnecting when it drops.
 * Evaluation never throws and never does I/O: an unknown flag or a wrong type is the caller's
 * default with OpenFeature's error code.
 */
import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Logger,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { compileFlagSet, type CompiledFlag } from '../../../src/flags/compile.js';
import { evaluateFlag } from '../../../src/flags/evaluate.js';
import type { EvaluationContext as SlipwayContext, FlagDefinition, FlagType, FlagValue } from '../../../src/flags/types.js';
import { readEvents } from './sse.js';

export interface SlipwayProviderOptions {
  /** The controller's API, e.g. http://127.0.0.1:7070 (from .slipway/controller.json). */
  baseUrl: string;
  /** The API token (from .slipway/controller.json). */
  token: string;
  /** The environment whose flags to evaluate (default: the project's default environment). */
  environment?: string;
  /** First wait before reconnecting a dropped stream; doubles up to 30 s. Default 500 ms. */
  reconnectMs?: number;
}

interface FlagSetBody {
  environment: string;
  etag: string;
  flags: FlagDefinition[];
}

export class SlipwayProvider implements Provider {
  readonly metadata = { name: 'slipway' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private flags = new Map<string, CompiledFlag>();
  private etag: string | undefined;
  private readonly abort = new AbortController();
  private streaming: Promise<void> | undefined;

  constructor(private readonly options: SlipwayProviderOptions) {}

  /** Fetches the flag set (the SDK waits for this before it reports the provider ready), then follows the stream. */
  async initialize(): Promise<void> {
    const res = await fetch(this.url('/v1/flag-definitions'), { headers: this.headers(), signal: this.abort.signal });
    if (!res.ok) throw new Error(`Slipway flags: GET /v1/flag-definitions answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    this.apply((await res.json()) as FlagSetBody);
    this.streaming = this.follow();
  }

  async onClose(): Promise<void> {
    this.abort.abort();
    await this.streaming?.catch(() => undefined);
  }

  resolveBooleanEvaluation(
    key: string,
    fallback: boolean,
    context: EvaluationContext,
    _logger?: Logger,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(key, 'boolean', fallback, context));
  }
  resolveStringEvaluation(key: string, fallback: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(key, 'string', fallback, context));
  }
  resolveNumberEvaluation(key: string, fallback: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(key, 'number', fallback, context));
  }
  resolveObjectEvaluation<T extends JsonValue>(key: string, fallback: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(key, 'object', fallback, context));
  }

  /** Synchronous evaluation, for callers that measure or batch outside the SDK. */
  resolve<T>(key: string, type: FlagType, fallback: T, context: EvaluationContext): ResolutionDetails<T> {
    const r = evaluateFlag(this.flags, key, context as SlipwayContext, type, fallback as FlagValue);
    return r as ResolutionDetails<T>;
  }

  private apply(body: FlagSetBody): void {
    if (body.etag === this.etag) return;
    const before = this.flags;
    this.flags = compileFlagSet(body.flags, before);
    const changed = [...new Set([...before.keys(), ...this.flags.keys()])].filter((k) => before.get(k) !== this.flags.get(k));
    const first = this.etag === undefined;
    this.etag = body.etag;
    if (!first) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
  }

  /** Follows the stream until closed; on a drop, reports stale, waits (backing off) and reconnects. */
  private async follow(): Promise<void> {
    let wait = this.options.reconnectMs ?? 500;
    let stale = false;
    while (!this.abort.signal.aborted) {
      try {
        const res = await fetch(this.url('/v1/flag-definitions/stream'), { headers: this.headers(), signal: this.abort.signal });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        await readEvents(res.body, (e) => {
          if (e.event !== 'flags') return;
          this.apply(JSON.parse(e.data) as FlagSetBody);
          if (stale) {
            stale = false;
            this.events.emit(ProviderEvents.Ready);
          }
          wait = this.options.reconnectMs ?? 500;
        });
      } catch (err) {
        if (this.abort.signal.aborted) return;
        void err;
      }
      if (this.abort.signal.aborted) return;
      // Evaluation goes on with the last flag set meanwhile.
      if (!stale) this.events.emit(ProviderEvents.Stale, { message: 'lost the flag stream of the Slipway controller; reconnecting' });
      stale = true;
      await new Promise((r) => setTimeout(r, wait).unref());
      wait = Math.min(wait * 2, 30_000);
    }
  }

  private url(path: string): string {
    const env = this.options.environment;
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}${env ? `?env=${encodeURIComponent(env)}` : ''}`;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}` };
  }
}
