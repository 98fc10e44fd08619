/**
 * What a host's roll carries beyond the spec (ADR 0026, "Images and secrets on hosts"): for an
 * image release, the image to pull by digest and, when the registry wants them, its credentials
 * (the `registry.auth` secret, decrypted for this rollout); for a release with `secrets:`, their
 * values. Both go to the host only inside the roll request, over the SSH stream: never on a
 * command line, in a rollout event or in a log line.
 */
import { SlipwayError } from '../core/errors.js';
import type { ImagePull } from '../fleet/agent/protocol.js';
import type { Release } from '../store/types.js';
import type { Controller } from './controller.js';
import { registryOf, registryPassword } from './image-releases.js';

export interface HostPayload {
  pull?: ImagePull;
  secrets?: Record<string, string>;
}

export async function hostPayload(c: Controller, r: Release): Promise<HostPayload> {
  const out: HostPayload = {};
  if (r.image) {
    if (r.image.where !== 'registry')
      throw SlipwayError.of(
        'FLEET_UNSUPPORTED',
        `release ${r.number} of ${r.service} is an image only this machine has (${r.image.ref.slice(0, 19)}…): hosts pull images from a registry`,
        {
          hint: 'Declare a registry for the environment (`registry: { url: … }`, docs/servers.md) and deploy again: the image is then pushed there by digest and each host pulls it.',
        },
      );
    const config = c.currentConfig ?? c.loadConfig();
    const registry = registryOf(c, config);
    const ours = registry !== undefined && r.image.ref.startsWith(`${registry.url}/`);
    const password = ours && registry.auth ? await registryPassword(c, config, registry) : undefined;
    out.pull = {
      ref: r.image.ref,
      insecure: ours && registry.insecure === true,
      ...(ours && registry.auth && password !== undefined
        ? { auth: { registry: registry.url, username: registry.auth.username, password } }
        : {}),
    };
  }
  if (Object.keys(r.secrets?.values ?? {}).length) out.secrets = await c.secretEnv(r.service, r.number);
  return out;
}
