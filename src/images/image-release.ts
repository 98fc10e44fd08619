/**
 * The image of a container release, pinned by digest (docs/adr/0022-container-releases.md):
 * - `image: { build: ./web }`: built here with podman, reproducibly (`--timestamp 0`: the same
 *   context gives the same image id). With a `registry:` it is pushed by digest and the release
 *   records the registry's digest (what `push --digestfile` reports: the compressed manifest's,
 *   not the local image's); without one the release records the local image id, and only this
 *   machine can run it.
 * - `image: registry.example.com/shop/web:1.4`: resolved to its digest once (skopeo inspect); the
 *   release pins `repo@digest`, so a tag moved later never changes what a release runs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SlipwayError } from '../core/errors.js';
import type { PodmanCli } from '../drivers/podman/podman-cli.js';
import type { ReleaseImage } from '../store/types.js';
import type { BuildStep } from '../artifact/build.js';

export interface RegistryConfig {
  url: string;
  insecure?: boolean;
  auth?: { username: string; passwordSecret: string };
}

export interface ImageReleaseResult {
  /** `sha256:<hex>`: the registry digest, or the local image id. */
  digest: string;
  image: ReleaseImage;
  buildLog: string[];
  steps: BuildStep[];
}

export interface BuildImageOptions {
  cli: PodmanCli;
  /** The build context (absolute). */
  context: string;
  /** Containerfile relative to the context. @default Containerfile, else Dockerfile */
  file?: string;
  app: string;
  service: string;
  registry?: RegistryConfig;
  onOutput?: (line: string) => void;
  /** Build only (for `slipway plan`): no push, the local image id as digest. @default false */
  noPush?: boolean;
  /** A containers-auth.json with the registry's credentials (registry-auth.ts), for the push. */
  authfile?: string;
}

/** Repository a built image of `service` goes to: `<registry>/<app>/<service>`, or `localhost/slipway/<app>-<service>`. */
export function repositoryFor(app: string, service: string, registry?: RegistryConfig): string {
  return registry ? `${registry.url}/${app}/${service}` : `localhost/slipway/${app}-${service}`;
}

/** Builds the service's image with podman and pins it (pushing it when a registry is declared). */
export async function buildImage(o: BuildImageOptions): Promise<ImageReleaseResult> {
  const steps: BuildStep[] = [];
  const file =
    o.file ?? (existsSync(join(o.context, 'Containerfile')) || !existsSync(join(o.context, 'Dockerfile')) ? 'Containerfile' : 'Dockerfile');
  const work = await mkdtemp(join(tmpdir(), 'slipway-image-'));
  try {
    const iidfile = join(work, 'iid');
    let t = performance.now();
    let out: string;
    try {
      out = await o.cli.podman(['build', '--timestamp', '0', '--iidfile', iidfile, '-f', join(o.context, file), o.context], {
        timeoutMs: 30 * 60_000,
      });
    } catch (err) {
      throw SlipwayError.of('IMAGE_BUILD_FAILED', `podman build of ${o.service} failed: ${(err as Error).message}`, {
        cause: err,
        hint: `Fix ${join(o.context, file)} (or its context) and deploy again; try \`podman build ${o.context}\` by hand to see it all.`,
      });
    }
    const buildLog = out.trim() === '' ? [] : out.trim().split('\n');
    for (const line of buildLog) o.onOutput?.(line);
    const id = (await readFile(iidfile, 'utf8')).trim();
    steps.push({ name: 'build command', ms: Math.round(performance.now() - t), note: `podman build: image ${id.slice(0, 19)}` });
    const repo = repositoryFor(o.app, o.service, o.registry);
    const hex = id.replace(/^sha256:/, '');
    // A tag keeps the image visible in `podman images`; releases never run tags.
    await o.cli.podman(['tag', hex, `${repo}:${hex.slice(0, 12)}`]);
    const from = `build ${o.context}`;
    if (!o.registry || o.noPush)
      return { digest: `sha256:${hex}`, image: { ref: hex, where: 'local', from, id: `sha256:${hex}` }, buildLog, steps };
    t = performance.now();
    const digestfile = join(work, 'digest');
    try {
      await o.cli.podman(
        [
          'push',
          ...(o.registry.insecure ? ['--tls-verify=false'] : []),
          ...(o.authfile ? ['--authfile', o.authfile] : []),
          '--digestfile',
          digestfile,
          hex,
          `docker://${repo}:${hex.slice(0, 12)}`,
        ],
        { timeoutMs: 30 * 60_000 },
      );
    } catch (err) {
      throw SlipwayError.of('IMAGE_PUSH_FAILED', `pushing ${o.service}'s image to ${o.registry.url} failed: ${(err as Error).message}`, {
        cause: err,
        hint: `Check that ${o.registry.url} is reachable from here and accepts pushes (plain HTTP needs registry.insecure: true${o.registry.auth ? `; the credentials are registry.auth's user ${o.registry.auth.username} and secret ${o.registry.auth.passwordSecret}` : ''}).`,
      });
    }
    const digest = (await readFile(digestfile, 'utf8')).trim();
    // Pulled back by digest (its layers are here already, so nothing much moves): the store then
    // knows the image under the name instances run, and starting one never needs the registry
    // (or its credentials) on this machine.
    await o.cli.podman(
      [
        'pull',
        '-q',
        ...(o.registry.insecure ? ['--tls-verify=false'] : []),
        ...(o.authfile ? ['--authfile', o.authfile] : []),
        `${repo}@${digest}`,
      ],
      { timeoutMs: 30 * 60_000 },
    );
    steps.push({ name: 'store', ms: Math.round(performance.now() - t), note: `pushed to ${o.registry.url} as ${digest.slice(0, 19)}` });
    return { digest, image: { ref: `${repo}@${digest}`, where: 'registry', from, id: `sha256:${hex}` }, buildLog, steps };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The repository of a reference (without tag or digest). */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const noDigest = at < 0 ? ref : ref.slice(0, at);
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * Pins an existing image reference to its digest. `localhost/…` names an image of this machine's
 * store. With `auth.pull` (a registry that requires credentials, for a deploy) the pinned image
 * is also pulled now, since the container engine that runs it later has no credentials to pull it with.
 */
export async function resolveImage(
  cli: PodmanCli,
  ref: string,
  registry?: RegistryConfig,
  auth?: { authfile: string; pull: boolean },
): Promise<ImageReleaseResult> {
  const authfile = auth?.authfile;
  const t = performance.now();
  const pinned = /@(sha256:[a-f0-9]{64})$/.exec(ref);
  const done = (digest: string, image: ReleaseImage, note: string): ImageReleaseResult => ({
    digest,
    image,
    buildLog: [],
    steps: [{ name: 'store', ms: Math.round(performance.now() - t), note }],
  });
  if (pinned)
    return done(
      pinned[1]!,
      { ref: `${repositoryOf(ref)}@${pinned[1]!}`, where: 'registry', from: ref },
      'pinned by digest in slipway.yaml',
    );
  try {
    if (ref.startsWith('localhost/')) {
      const id = (await cli.podman(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
      return done(`sha256:${id}`, { ref: id, where: 'local', from: ref }, `local image ${id.slice(0, 12)}`);
    }
    // skopeo reads no CONTAINERS_REGISTRIES_CONF: say plain HTTP on the command line when the registry is declared insecure.
    const insecure = registry?.insecure === true && ref.startsWith(registry.url.split('/')[0]! + '/');
    const authArgs = authfile ? ['--authfile', authfile] : [];
    const tls = insecure ? ['--tls-verify=false'] : [];
    const digest = (await cli.skopeo(['inspect', ...tls, ...authArgs, '--format', '{{.Digest}}', `docker://${ref}`])).trim();
    const pinnedRef = `${repositoryOf(ref)}@${digest}`;
    if (auth?.pull) await cli.podman(['pull', '-q', ...tls, ...authArgs, pinnedRef], { timeoutMs: 30 * 60_000 });
    return done(
      digest,
      { ref: pinnedRef, where: 'registry', from: ref },
      `${ref} is ${digest.slice(0, 19)}${auth?.pull ? ', pulled' : ''}`,
    );
  } catch (err) {
    throw SlipwayError.of('IMAGE_RESOLVE_FAILED', `cannot resolve image ${ref} to a digest: ${(err as Error).message}`, {
      cause: err,
      hint: 'Check the reference and that its registry is reachable from here (`skopeo inspect docker://REF`).',
    });
  }
}
