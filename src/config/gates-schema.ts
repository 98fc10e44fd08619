/**
 * The gates of an environment in slipway.yaml: `approval` (a person approves each deploy before
 * it starts) and `windows` (when deploys are allowed). Windows are parsed here, once, at config
 * load: a bad entry is a config error at its line and column like any other, and the rest of
 * Slipway only sees parsed spans (src/environments/windows.ts).
 */
import { z } from 'zod';
import { parseWindow, validTimezone, WINDOW_FORMS, type Windows } from '../environments/windows.js';

export const approvalSchema = z
  .strictObject({
    required: z.boolean().prefault(false).meta({
      description: 'Each deploy waits in phase AwaitingApproval, touching nothing, until `slipway approve` (or `slipway reject`).',
    }),
  })
  .meta({ description: 'Manual approval of deploys to this environment.' });

const windowList = (what: string) =>
  z
    .array(z.string())
    .prefault([])
    .meta({ description: `${what} Forms: ${WINDOW_FORMS}.` });

export const windowsSchema = z
  .strictObject({
    deny: windowList('Times when deploys are refused (unless `--override --reason`).'),
    allow: windowList('When given, deploys are allowed only inside one of these (and outside every deny window).'),
    timezone: z
      .string()
      .prefault('UTC')
      .meta({ description: 'IANA time zone the windows are written in, e.g. Europe/Berlin; daylight-saving changes are followed.' }),
  })
  .superRefine((w, ctx) => {
    if (!validTimezone(w.timezone))
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `unknown time zone "${w.timezone}"; use an IANA name like Europe/Berlin or UTC`,
      });
    for (const key of ['deny', 'allow'] as const)
      w[key].forEach((text, i) => {
        const r = parseWindow(text);
        if ('error' in r) ctx.addIssue({ code: 'custom', path: [key, i], message: r.error });
      });
  })
  .transform((w): Windows => ({
    timezone: w.timezone,
    deny: w.deny.map((text) => ({ text, spans: spansOf(text) })),
    allow: w.allow.map((text) => ({ text, spans: spansOf(text) })),
  }))
  .meta({ description: 'Deployment windows: when deploys to this environment may start.' });

function spansOf(text: string) {
  const r = parseWindow(text);
  return 'spans' in r ? r.spans : [];
}

/** The environment keys this file owns; spread into environmentSchema. */
export const gatesKeys = {
  approval: approvalSchema.optional(),
  windows: windowsSchema.optional(),
};

export type ApprovalConfig = z.output<typeof approvalSchema>;
