/** The built-in metric providers, one per source kind. */
import { ProviderRegistry } from '../provider.js';
import { commandProvider } from './command-provider.js';
import { httpProvider } from './http-provider.js';
import { prometheusProvider } from './prometheus-provider.js';
import { routerProvider } from './router-provider.js';

/** A registry holding router, http, prometheus and command; register more (or replacements) on it. */
export function defaultProviderRegistry(): ProviderRegistry {
  return new ProviderRegistry()
    .register('router', routerProvider)
    .register('http', httpProvider)
    .register('prometheus', prometheusProvider)
    .register('command', commandProvider);
}
