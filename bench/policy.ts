/**
 * `npm run bench -- policy`: how fast a set of 20 policies compiles and evaluates, with
 * @bufbuild/cel as Slipway uses it (src/policy: compile once, evaluate per deploy) and, when
 * CEL_ALT points at an installed @marcbachmann/cel-js (see bench/cel-conformance.ts), the same
 * expressions with that library. No policy engine of a peer can run here (OPA is not installable),
 * so the comparison is between the two CEL libraries. One deploy evaluates the set once: the
 * numbers show the cost per deploy, not a throughput anyone needs.
 */
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { clearCompileCache, compilePolicies } from '../src/policy/compile.js';
import { evaluatePolicies } from '../src/policy/evaluate.js';
import { contextFor } from '../src/policy/test-cases.js';
import type { PolicyContext } from '../src/policy/context.js';
import { loadAlt } from './cel-conformance.js';

const prod = 'environment.name == "production"';

/** Twenty policies of the kinds a team writes: time, strategy, change, people, history. */
export const POLICIES: PolicyConfig[] = [
  { name: 'no-friday-prod', when: prod, deny: 'now.getDayOfWeek("Europe/Berlin") == 5', message: 'm', mode: 'enforce' },
  { name: 'no-weekend', when: prod, deny: 'now.getDayOfWeek("Europe/Berlin") in [0, 6]', message: 'm', mode: 'enforce' },
  {
    name: 'office-hours',
    when: prod,
    deny: 'now.getHours("Europe/Berlin") < 8 || now.getHours("Europe/Berlin") >= 18',
    message: 'm',
    mode: 'warn',
  },
  { name: 'canary-required', when: prod, deny: 'strategy.type != "canary"', message: 'm', mode: 'warn' },
  { name: 'canary-analysis', when: 'strategy.type == "canary"', deny: 'size(strategy.analysis) == 0', message: 'm', mode: 'enforce' },
  { name: 'canary-small-first', when: 'strategy.type == "canary"', deny: 'strategy.steps < 2', message: 'm', mode: 'enforce' },
  { name: 'two-instances', when: prod, deny: 'service.instances < 2', message: 'm', mode: 'enforce' },
  { name: 'no-recreate-prod', when: prod, deny: 'strategy.type == "recreate"', message: 'm', mode: 'enforce' },
  {
    name: 'four-eyes',
    when: `${prod} && release.digestChanged`,
    deny: '!approvals.exists(a, a.by != actor.name)',
    message: 'm',
    mode: 'enforce',
  },
  { name: 'fresh-approval', deny: 'approvals.exists(a, now - a.at > duration("24h"))', message: 'm', mode: 'warn' },
  { name: 'flaky', deny: 'recentFailures >= 3', message: 'm', mode: 'enforce' },
  { name: 'flaky-audit', deny: 'recentFailures >= 1', message: 'm', mode: 'audit' },
  { name: 'message-required', when: prod, deny: 'release.message == ""', message: 'm', mode: 'warn' },
  { name: 'ticket-in-message', when: prod, deny: '!release.message.matches("[A-Z]+-[0-9]+")', message: 'm', mode: 'audit' },
  { name: 'no-bots', when: prod, deny: 'actor.name.startsWith("bot-")', message: 'm', mode: 'enforce' },
  { name: 'rollback-anytime', when: 'action == "rollback"', deny: 'false', message: 'm', mode: 'enforce' },
  { name: 'config-only-audit', deny: '!release.digestChanged && release.configChanged', message: 'm', mode: 'audit' },
  { name: 'first-deploy-staging', when: 'release.firstDeploy', deny: prod, message: 'm', mode: 'enforce' },
  { name: 'port-range', deny: 'service.port < 1024', message: 'm', mode: 'enforce' },
  { name: 'known-digest', deny: '!release.digest.startsWith("sha256:")', message: 'm', mode: 'enforce' },
];

const CONTEXT: PolicyContext = contextFor({
  environment: { name: 'production' },
  service: { instances: 4 },
  strategy: { type: 'canary', steps: 4, analysis: ['errors'], maxWeight: 50 },
  release: { message: 'OPS-42 new greeting' },
  actor: { name: 'ann' },
  approvals: [{ by: 'bob', at: Date.parse('2026-01-07T10:00:00Z') }],
  recentFailures: 1,
});

/** Runs `fn` repeatedly for about `ms` (at most `max` times); returns calls per second. */
function rate(fn: () => void, ms = 1500, max = 2_000_000): { perSecond: number; runs: number } {
  for (let i = 0; i < 200; i++) fn(); // warm up
  const start = performance.now();
  let runs = 0;
  while (runs < max && performance.now() - start < ms) {
    for (let i = 0; i < 50; i++) fn();
    runs += 50;
  }
  return { perSecond: (runs / (performance.now() - start)) * 1000, runs };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/** One library under test: compile the 20 from scratch, evaluate the set once (returns the verdict). */
interface Engine {
  name: string;
  compile(): void;
  evaluate(): { denied: string[]; warned: string[]; audited: string[] };
}

const ROUNDS = 5;

export async function run(): Promise<void> {
  const engines: Engine[] = [slipwayEngine()];
  const alt = await loadAlt();
  if (alt) engines.push(altEngine(alt.mod as unknown as { parse(e: string): AltFn }));
  else
    console.log(
      'CEL_ALT not set: only @bufbuild/cel is measured (see bench/cel-conformance.ts for installing the alternative in a scratch directory).',
    );
  // Rounds alternate between the libraries so that a busy moment of this shared machine hurts both alike; medians are shown.
  const compileMs = engines.map(() => [] as number[]);
  const setsPerSecond = engines.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    engines.forEach((e, i) => {
      compileMs[i]!.push(1000 / rate(() => e.compile(), 300, 2000).perSecond);
      setsPerSecond[i]!.push(rate(() => e.evaluate(), 300).perSecond);
    });
  }
  const describe = (v: { denied: string[]; warned: string[]; audited: string[] }) =>
    `deny ${v.denied.join(',') || '-'}; warn ${v.warned.join(',') || '-'}; audit ${v.audited.join(',') || '-'}`;
  const rows: string[][] = [['library', 'compile 20 (ms)', 'evaluations of the set/s', 'policy evaluations/s', 'verdict']];
  engines.forEach((e, i) => {
    const sets = median(setsPerSecond[i]!);
    rows.push([e.name, fmt(median(compileMs[i]!)), fmt(sets), fmt(sets * POLICIES.length), describe(e.evaluate())]);
  });
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(
    `(medians of ${ROUNDS} alternating rounds; one evaluation of the set = ${POLICIES.length} policies, building the bindings included; node ${process.version})`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** @bufbuild/cel through Slipway's own compile and evaluate; compiling from scratch (Slipway caches by text). */
function slipwayEngine(): Engine {
  const { policies, problems } = compilePolicies(POLICIES);
  if (problems.length) throw new Error(`bench policies do not compile: ${JSON.stringify(problems)}`);
  const names = (l: { policy: string }[]) => l.map((x) => x.policy);
  return {
    name: '@bufbuild/cel (Slipway)',
    compile() {
      clearCompileCache();
      compilePolicies(POLICIES);
    },
    evaluate() {
      const v = evaluatePolicies(policies, CONTEXT);
      return { denied: names(v.denied), warned: names(v.warned), audited: names(v.audited) };
    },
  };
}

type AltFn = (ctx: Record<string, unknown>) => unknown;

/** The same policies with @marcbachmann/cel-js: the same bindings (ints as bigint, times as Date) and the same semantics. */
function altEngine(mod: { parse(e: string): AltFn }): Engine {
  const compile = () => POLICIES.map((p) => ({ p, when: p.when ? mod.parse(p.when) : undefined, deny: mod.parse(p.deny) }));
  const compiled = compile();
  const toAlt = (ctx: PolicyContext): Record<string, unknown> => ({
    action: ctx.action,
    environment: ctx.environment,
    service: { ...ctx.service, instances: BigInt(ctx.service.instances), port: BigInt(ctx.service.port) },
    release: {
      ...ctx.release,
      number: BigInt(ctx.release.number),
      previousNumber: ctx.release.previousNumber === null ? null : BigInt(ctx.release.previousNumber),
    },
    strategy: { ...ctx.strategy, steps: BigInt(ctx.strategy.steps), maxWeight: BigInt(ctx.strategy.maxWeight) },
    actor: ctx.actor,
    approvals: ctx.approvals.map((a) => ({ ...a, at: new Date(a.at) })),
    now: new Date(ctx.now),
    recentFailures: BigInt(ctx.recentFailures),
  });
  return {
    name: '@marcbachmann/cel-js',
    compile,
    evaluate() {
      const ctx = toAlt(CONTEXT);
      const out = { denied: [] as string[], warned: [] as string[], audited: [] as string[] };
      for (const c of compiled) {
        let violated: boolean;
        try {
          violated = (c.when ? c.when(ctx) === true : true) && c.deny(ctx) === true;
        } catch {
          violated = true;
        }
        if (violated) (c.p.mode === 'enforce' ? out.denied : c.p.mode === 'warn' ? out.warned : out.audited).push(c.p.name);
      }
      return out;
    },
  };
}
