/**
 * `loadBalancer:` in slipway.yaml: which load balancer serves the project's traffic instead of the
 * built-in router (docs/load-balancer.md, ADR 0021). Only HAProxy for now.
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

// As in analysis-schema.ts: schema.ts imports this file, so its duration() cannot be imported back.
const DURATION = /^(0|(\d+(\.\d+)?(ms|s|m|h))+)$/;
const duration = () =>
  z
    .string()
    .regex(DURATION, 'expected a duration like "250ms", "5s", "2m" or "1h30m"')
    .transform((s) => parseDuration(s) ?? Number.NaN);

export const haproxySchema = z
  .strictObject({
    healthPath: z
      .string()
      .regex(/^\/[^\s;#\\]*$/, 'expected an HTTP path starting with "/", without spaces, ";" or "#"')
      .optional()
      .meta({
        description:
          "HAProxy's own health check: GET this path on every instance (any 2xx or 3xx passes). Without it HAProxy checks that the port accepts connections.",
      }),
    checkInterval: duration()
      .refine((ms) => ms >= 100, 'expected at least 100ms')
      .prefault('1s')
      .meta({ description: "Time between two of HAProxy's health checks of one instance." }),
    binary: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The haproxy executable. Default: /usr/sbin/haproxy, /usr/local/sbin/haproxy, then haproxy on PATH.' }),
  })
  .meta({ description: 'HAProxy (2.6 or later), started and owned by Slipway and driven through its Runtime API.' });

export const loadBalancerSchema = z
  .strictObject({
    haproxy: haproxySchema.meta({ description: 'Serve traffic through HAProxy instead of the built-in router.' }),
  })
  .meta({
    description:
      'The load balancer in front of the instances, instead of the built-in router. Changing it takes effect when the controller restarts (`slipway down`, then `slipway up`).',
  });

export type HaproxyConfig = z.output<typeof haproxySchema>;
export type LoadBalancerConfig = z.output<typeof loadBalancerSchema>;
