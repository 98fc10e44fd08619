/**
 * The `policies:` section of slipway.yaml: rules in CEL checked before every deploy, rollback and
 * promotion (src/policy/, docs/policies.md). The schema checks the shape; whether each expression
 * compiles, and names only what the context has, is checked by policy-checks.ts with positions.
 */
import { z } from 'zod';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const policySchema = z
  .strictObject({
    name: z
      .string()
      .regex(NAME, 'expected a name of lowercase letters, digits and dashes, starting with a letter (at most 63 characters)')
      .meta({ description: 'Names the policy in errors, warnings, events and policy tests.' }),
    when: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'CEL expression: the policy applies only when it is true (default: always).',
        examples: ['environment.name == "production"'],
      }),
    deny: z
      .string()
      .min(1)
      .meta({ description: 'CEL expression: when true, the policy is violated.', examples: ['now.getDayOfWeek("Europe/Berlin") == 5'] }),
    message: z.string().min(1).meta({ description: 'Shown when the policy is violated: say why and what to do.' }),
    mode: z
      .enum(['enforce', 'warn', 'audit'])
      .prefault('enforce')
      .meta({ description: 'enforce: refuse; warn: go on, print and record a warning; audit: go on and only record an event.' }),
  })
  .meta({ description: 'A rule checked before every deploy, rollback and promotion. See docs/policies.md.' });

export const policiesSectionSchema = z
  .array(policySchema)
  .prefault([])
  .meta({ description: 'Policies as code, in CEL: each may deny a deploy, rollback or promotion. See docs/policies.md.' });

export type PolicyConfig = z.output<typeof policySchema>;
