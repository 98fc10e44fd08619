/**
 * The `flags:` section of slipway.yaml: feature flags and their baseline per environment
 * (docs/flags.md). The schema checks the shape; flag-checks.ts checks what needs more than one key
 * (values of the flag's type, rule conditions that compile, environments that exist) with positions.
 */
import { z } from 'zod';

const KEY = /^[a-z][a-z0-9_.-]{0,127}$/;
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const value = () => z.unknown().meta({ description: 'A value of the flag type: true/false, text, a number, or a mapping (object).' });

export const flagRuleSchema = z
  .strictObject({
    if: z
      .string()
      .min(1)
      .meta({
        description: 'CEL condition over the evaluation context (with semver()); the first rule that is true serves its value.',
        examples: ['user.country in ["DE", "AT"] && semver(app.version) >= semver("2.3.0")'],
      }),
    serve: value(),
  })
  .meta({ description: 'A targeting rule: when `if` is true, serve `serve`.' });

export const flagRolloutSchema = z
  .union([
    z
      .number()
      .min(0)
      .max(100)
      .transform((percent) => ({ percent, by: 'user.id' })),
    z.strictObject({
      percent: z.number().min(0).max(100).meta({ description: 'Share of users (0 to 100, steps of 0.01) given the "on" value.' }),
      by: z
        .string()
        .regex(ATTRIBUTE, 'expected an attribute path such as "user.id" or "org.id"')
        .prefault('user.id')
        .meta({ description: 'Context attribute whose value places a user in a sticky bucket (default user.id).' }),
    }),
  ])
  .meta({ description: 'Percentage rollout: a number (by user.id) or { percent, by }.' });

const targetingKeys = {
  enabled: z.boolean().optional().meta({ description: 'false is the kill switch: the flag serves its default to everyone.' }),
  rules: z.array(flagRuleSchema).optional().meta({ description: 'Targeting rules, tried in order.' }),
  rollout: flagRolloutSchema.optional(),
};

export const flagEnvironmentSchema = z
  .strictObject(targetingKeys)
  .meta({ description: "The flag in one environment: each key replaces the flag's own." });

export const flagSchema = z
  .strictObject({
    type: z.enum(['boolean', 'string', 'number', 'object']).meta({ description: 'The type of every value the flag serves.' }),
    description: z.string().optional().meta({ description: 'What the flag is for (shown by slipway flags list).' }),
    default: value().meta({ description: 'Served when the flag is off, to users outside the rollout and when no rule matches.' }),
    variants: z
      .record(
        z.string().min(1),
        z.union([z.number().min(0), z.strictObject({ value: z.unknown(), weight: z.number().min(0).prefault(1) })]),
      )
      .optional()
      .meta({
        description:
          'Values split by weight, sticky per user: { name: weight } (a string flag serves the name) or { name: { value, weight } }.',
      }),
    ...targetingKeys,
    environments: z
      .record(z.string().min(1), flagEnvironmentSchema.nullable())
      .optional()
      .meta({ description: 'Settings per environment, by name, over the flag-wide ones.' }),
  })
  .meta({ description: 'One feature flag. See docs/flags.md.' });

export const flagsSectionSchema = z
  .record(z.string().regex(KEY, 'expected a flag key of lowercase letters, digits, ".", "_" and "-", starting with a letter'), flagSchema)
  .prefault({})
  .meta({ description: 'Feature flags: ship dark, ramp, switch off in one second. See docs/flags.md.' });

export type FlagConfig = z.output<typeof flagSchema>;
export type FlagsConfig = z.output<typeof flagsSectionSchema>;
