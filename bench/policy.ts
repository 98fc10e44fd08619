/**
 * `npm run bench -- policy`: how fast a set of 20 policies compiles and evaluates, with
 * @bufbuild/cel as Slipway uses it (src/policy: compile once, evaluate per deploy) and, when
 * CEL_ALT points at an installed @marcbachmann/cel-js (see bench/cel-conformance.ts), the same
 * expressions with that library. No policy engine of a peer can run here (OPA is not installable),
 * so the comparison is between the two CEL libraries. One deploy evaluates the set once: the
 * numbers show the cost per deploy, not a throughput anyone needs.
 */
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { compilePolicies } from '../src/policy/compile.js';
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

export async function run(): Promise<void> {
  const rows: string[][] = [['library', 'compile 20 (ms)', 'evaluations of the set/s', 'policy evaluations/s', 'verdict']];

  // @bufbuild/cel, through Slipway's own compile and evaluate.
  const compiles = rate(() => compilePolicies(POLICIES), 1000, 2000);
  const { policies, problems } = compilePolicies(POLICIES);
  if (problems.length) throw new Error(`bench policies do not compile: ${JSON.stringify(problems)}`);
  const verdict = evaluatePolicies(policies, CONTEXT);
  const evals = rate(() => evaluatePolicies(policies, CONTEXT));
  const describe = (v: { denied: string[]; warned: string[]; audited: string[] }) =>
    `deny ${v.denied.join(',') || '-'}; warn ${v.warned.join(',') || '-'}; audit ${v.audited.join(',') || '-'}`;
  const names = (l: { policy: string }[]) => l.map((x) => x.policy);
  const ours = describe({ denied: names(verdict.denied), warned: names(verdict.warned), audited: names(verdict.audited) });
  rows.push([
    '@bufbuild/cel (Slipway)',
    fmt(1000 / compiles.perSecond),
    fmt(evals.perSecond),
    fmt(evals.perSecond * POLICIES.length),
    ours,
  ]);

  const alt = await loadAlt();
  if (alt) {
    type Fn = (ctx: Record<string, unknown>) => unknown;
    const parse = (alt.mod as unknown as { parse(e: string): Fn }).parse;
    const compileAlt = () => POLICIES.map((p) => ({ p, when: p.when ? parse(p.when) : undefined, deny: parse(p.deny) }));
    const altCompiles = rate(compileAlt, 1000, 2000);
    const compiled = compileAlt();
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
    const evaluateAlt = () => {
      // The same work as evaluatePolicies: build the bindings, then when/deny per policy.
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
    };
    const theirs = describe(evaluateAlt());
    const altEvals = rate(() => evaluateAlt());
    rows.push([
      '@marcbachmann/cel-js',
      fmt(1000 / altCompiles.perSecond),
      fmt(altEvals.perSecond),
      fmt(altEvals.perSecond * POLICIES.length),
      theirs,
    ]);
  } else {
    console.log(
      'CEL_ALT not set: only @bufbuild/cel is measured (see bench/cel-conformance.ts for installing the alternative in a scratch directory).',
    );
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(`(one evaluation of the set = ${POLICIES.length} policies, building the CEL bindings included; node ${process.version})`);
}
