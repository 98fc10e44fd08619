/**
 * The image a deploy of an `image:` service records (docs/adr/0022-container-releases.md): built
 * here and pinned (pushed by digest when the environment or project declares a `registry:`), or
 * an existing reference resolved to its digest once.
 */
import type { ServiceConfig, SlipwayConfig } from '../config/schema.js';
import { buildImage, resolveImage, type ImageReleaseResult, type RegistryConfig } from '../images/image-release.js';
import type { Controller } from './controller.js';

/** The registry of the controller's environment, else the project's. */
export function registryOf(c: Controller, config: SlipwayConfig): RegistryConfig | undefined {
  return config.environments[c.environment]?.registry ?? config.registry;
}

/** Builds or resolves the service's image. `noPush`: for `slipway plan`, which records nothing. */
export function imageRelease(
  c: Controller,
  config: SlipwayConfig,
  service: string,
  spec: ServiceConfig,
  opts: { noPush?: boolean } = {},
): Promise<ImageReleaseResult> {
  const image = spec.image!;
  const registry = registryOf(c, config);
  const cli = c.project.podman;
  if (typeof image === 'string') return resolveImage(cli, image, registry);
  return buildImage({
    cli,
    context: image.build,
    ...(image.file ? { file: image.file } : {}),
    app: config.app,
    service,
    ...(registry ? { registry } : {}),
    ...(opts.noPush ? { noPush: true } : {}),
    onOutput: (line) => c.log.info(`build ${service}: ${line}`),
  });
}
