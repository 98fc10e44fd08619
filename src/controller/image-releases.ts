/**
 * The image a deploy of an `image:` service records (docs/adr/0022-container-releases.md): built
 * here and pinned (pushed by digest when the environment or project declares a `registry:`), or
 * an existing reference resolved to its digest once.
 */
import type { ServiceConfig, SlipwayConfig } from '../config/schema.js';
import { buildImage, resolveImage, type ImageReleaseResult, type RegistryConfig } from '../images/image-release.js';
import { withRegistryAuth } from '../images/registry-auth.js';
import { decryptSnapshot, snapshotSecrets } from '../secrets/release-secrets.js';
import type { Controller } from './controller.js';

/** The registry of the controller's environment, else the project's. */
export function registryOf(c: Controller, config: SlipwayConfig): RegistryConfig | undefined {
  return config.environments[c.environment]?.registry ?? config.registry;
}

/** Builds or resolves the service's image. `noPush`: for `slipway plan`, which records nothing. */
export async function imageRelease(
  c: Controller,
  config: SlipwayConfig,
  service: string,
  spec: ServiceConfig,
  opts: { noPush?: boolean } = {},
): Promise<ImageReleaseResult> {
  const image = spec.image!;
  const registry = registryOf(c, config);
  const cli = c.project.podman;
  const needsAuth = typeof image === 'string' ? registry !== undefined && image.startsWith(`${registry.url}/`) : !opts.noPush;
  const password = needsAuth ? await registryPassword(c, config, registry) : undefined;
  return withRegistryAuth(registry, password, (authfile) => {
    if (typeof image === 'string') return resolveImage(cli, image, registry, authfile ? { authfile, pull: !opts.noPush } : undefined);
    return buildImage({
      cli,
      context: image.build,
      ...(image.file ? { file: image.file } : {}),
      app: config.app,
      service,
      ...(registry ? { registry } : {}),
      ...(opts.noPush ? { noPush: true } : {}),
      ...(authfile ? { authfile } : {}),
      onOutput: (line) => c.log.info(`build ${service}: ${line}`),
    });
  });
}

/**
 * The registry's password: the environment's secret that `registry.auth.passwordSecret` names,
 * decrypted for this deploy only (refused, naming the secret and how to set it, when it is not set).
 */
export async function registryPassword(
  c: Controller,
  config: SlipwayConfig,
  registry: RegistryConfig | undefined,
): Promise<string | undefined> {
  const name = registry?.auth?.passwordSecret;
  if (name === undefined) return undefined;
  const req = { configFile: c.configPath!, app: config.app, environment: c.environment, service: 'registry.auth', names: [name] };
  const snapshot = (await snapshotSecrets(req))!;
  return (await decryptSnapshot(config.app, snapshot, c.environment))[name];
}
