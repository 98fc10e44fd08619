/**
 * What a policy expression can read: the variables of the CEL environment, as a TypeScript type
 * (what the controller fills in), as a field tree (what compile-time checks and docs/policies.md
 * follow), and as CEL bindings (ints as bigint, `now` as a google.protobuf.Timestamp).
 */
import { isCelError, parse, plan, celEnv, type CelInput } from '@bufbuild/cel';

/** What is about to happen. `promotion` is environment promotion (a release moved to the next environment). */
export type PolicyAction = 'deploy' | 'rollback' | 'promotion';

export interface PolicyApproval {
  by: string;
  /** Milliseconds since the epoch. */
  at: number;
  comment: string;
}

/** The input of every policy evaluation. Times are milliseconds since the epoch. */
export interface PolicyContext {
  action: PolicyAction;
  environment: { name: string; target: string };
  service: { name: string; instances: number; port: number; strategy: string };
  release: {
    number: number;
    digest: string;
    message: string;
    previousNumber: number | null;
    previousDigest: string | null;
    firstDeploy: boolean;
    digestChanged: boolean;
    configChanged: boolean;
  };
  strategy: { type: string; steps: number; analysis: string[]; maxWeight: number };
  actor: { name: string };
  approvals: PolicyApproval[];
  now: number;
  recentFailures: number;
}

/** A field's CEL type, for checks and the reference. `object` has named fields; `list` has elements. */
export type FieldSpec =
  | { type: 'string' | 'int' | 'bool' | 'timestamp'; nullable?: boolean; doc: string }
  | { type: 'list'; of: FieldSpec; doc: string }
  | { type: 'object'; fields: Record<string, FieldSpec>; doc: string };

const s = (doc: string, nullable = false): FieldSpec => ({ type: 'string', doc, ...(nullable ? { nullable } : {}) });
const i = (doc: string, nullable = false): FieldSpec => ({ type: 'int', doc, ...(nullable ? { nullable } : {}) });
const b = (doc: string): FieldSpec => ({ type: 'bool', doc });

/** Every variable a policy can use, with its fields. docs/policies.md documents each (a test checks). */
export const CONTEXT_FIELDS: Record<string, FieldSpec> = {
  action: s('"deploy", "rollback" or "promotion": what the policy is asked about.'),
  environment: {
    type: 'object',
    doc: 'The environment deployed to.',
    fields: { name: s('Its name in slipway.yaml, e.g. "production".'), target: s('Where it runs: "local" or "ssh".') },
  },
  service: {
    type: 'object',
    doc: 'The service deployed, as the release configures it.',
    fields: {
      name: s('The service name.'),
      instances: i('Desired instance count.'),
      port: i('Port the router listens on for it.'),
      strategy: s('The strategy type, the same as strategy.type.'),
    },
  },
  release: {
    type: 'object',
    doc: 'The release about to serve, and what changes compared with the one serving now.',
    fields: {
      number: i('Its number (for a deploy: the number it will get).'),
      digest: s('sha256 digest of its artifact, "sha256:…".'),
      message: s('The message given with the deploy or rollback (-m), or "".'),
      previousNumber: i('The release serving now; null on the first deploy.', true),
      previousDigest: s('Its digest; null on the first deploy.', true),
      firstDeploy: b('Nothing serves the service yet.'),
      digestChanged: b('The artifact differs from the serving release (true on the first deploy).'),
      configChanged: b("The service's configuration differs from the serving release (true on the first deploy)."),
    },
  },
  strategy: {
    type: 'object',
    doc: 'How the release will be rolled out.',
    fields: {
      type: s('"rolling", "recreate", "blueGreen" or "canary".'),
      steps: i('Canary: number of steps; 0 for the other strategies.'),
      analysis: {
        type: 'list',
        of: s('A check name.'),
        doc: 'Every analysis check the strategy names (canary steps and background, blue-green pre/post).',
      },
      maxWeight: i('Canary: the highest weight a step sets before full promotion; 100 for the other strategies.'),
    },
  },
  actor: { type: 'object', doc: 'Who asked.', fields: { name: s('The user name recorded with the release (--by, else the OS user).') } },
  approvals: {
    type: 'list',
    doc: 'Approvals recorded for this rollout (empty until an environment requires approval).',
    of: {
      type: 'object',
      doc: 'One approval.',
      fields: { by: s('Who approved.'), at: { type: 'timestamp', doc: 'When.' }, comment: s('Their comment, or "".') },
    },
  },
  now: {
    type: 'timestamp',
    doc: 'The time of the evaluation (the controller clock). Use now.getDayOfWeek("Europe/Berlin") for local time.',
  },
  recentFailures: i('Rollouts of this service in this environment that failed (or were rolled back automatically) in the last 24 hours.'),
};

/**
 * Names a CEL expression may use besides the variables: the standard type names (as in
 * `type(x) == string`). Anything else unbound is a mistake worth reporting at load time.
 */
export const CEL_TYPE_NAMES = new Set([
  'bool',
  'bytes',
  'double',
  'duration',
  'int',
  'list',
  'map',
  'null_type',
  'string',
  'timestamp',
  'type',
  'uint',
  'dyn',
  'google',
]);

const env = celEnv();
// The one way to make a google.protobuf.Timestamp without importing @bufbuild/protobuf (a peer
// dependency of the CEL library): let CEL's own timestamp() build it, from an ISO string.
const toTimestamp = plan(env, parse('timestamp(iso)'));

/** Converts a PolicyContext into CEL variables: whole numbers become CEL ints, times become timestamps. */
export function celBindings(ctx: PolicyContext): Record<string, CelInput> {
  return {
    action: ctx.action,
    environment: { ...ctx.environment },
    service: { ...ctx.service, instances: BigInt(ctx.service.instances), port: BigInt(ctx.service.port) },
    release: {
      ...ctx.release,
      number: BigInt(ctx.release.number),
      previousNumber: ctx.release.previousNumber === null ? null : BigInt(ctx.release.previousNumber),
    },
    strategy: { ...ctx.strategy, steps: BigInt(ctx.strategy.steps), maxWeight: BigInt(ctx.strategy.maxWeight) },
    actor: { ...ctx.actor },
    approvals: ctx.approvals.map((a) => ({ by: a.by, comment: a.comment, at: timestamp(a.at) })),
    now: timestamp(ctx.now),
    recentFailures: BigInt(ctx.recentFailures),
  } as Record<string, CelInput>;
}

function timestamp(ms: number): CelInput {
  const t = toTimestamp({ iso: new Date(ms).toISOString() });
  if (isCelError(t)) throw t;
  return t as CelInput;
}
