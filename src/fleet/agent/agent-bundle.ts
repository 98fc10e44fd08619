/**
 * The host agent as Slipway installs it on hosts (ADR 0026): the bundle `npm run build` writes to
 * dist/agent/ (scripts/agent-bundle.config.mjs: the agent, the router daemon and its worker, the
 * log writer, every npm package they import inlined; about 0.5 MB in 8 files), packed as an
 * artifact of its own. Its digest is the agent's version: a host whose agent runs from another
 * digest is upgraded. Shipped like a release (ship.ts): a host that has it gets nothing.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build.js';
import { SlipwayError } from '../../core/errors.js';
import { planRelease, type ReleasePlan } from '../ship.js';

/** dist/agent/, beside dist/src/ (this file is dist/src/fleet/agent/agent-bundle.js). */
export const AGENT_BUNDLE_DIR = fileURLToPath(new URL('../../../agent/', import.meta.url));

/** The file the agent starts from, inside the bundle. */
export const AGENT_ENTRY = 'agent-main.js';

export interface AgentBundle {
  /** `sha256:<hex>` of the packed bundle: the agent's version. */
  digest: string;
  plan: ReleasePlan;
}

const packed = new Map<string, Promise<AgentBundle>>();

/**
 * Packs the bundle into the artifact store at `storeRoot` (the project's `.slipway/artifacts`),
 * once per process and folder: the pack is reproducible, so the same build gives the same digest.
 */
export async function agentBundle(storeRoot: string, dir = AGENT_BUNDLE_DIR): Promise<AgentBundle> {
  const key = `${storeRoot}\0${dir}`;
  let p = packed.get(key);
  // The store's garbage collection knows no release using it: packed again when it went.
  if (p && !existsSync((await p.catch(() => undefined))?.plan.archive ?? '')) p = undefined;
  if (!p) {
    p = pack(storeRoot, dir);
    packed.set(key, p);
    p.catch(() => packed.delete(key));
  }
  return p;
}

async function pack(storeRoot: string, dir: string): Promise<AgentBundle> {
  if (!existsSync(join(dir, AGENT_ENTRY)))
    throw SlipwayError.of('AGENT_UNAVAILABLE', `the host agent's bundle is missing (${join(dir, AGENT_ENTRY)})`, {
      hint: 'This Slipway was not fully built: run npm run build (it writes dist/agent/), then try again.',
    });
  const store = new ArtifactStore(storeRoot);
  const built = await buildArtifact({ sourceDir: dir, workRoot: tmpdir(), store, rememberPack: false });
  const indexed = store.indexed(built.digest);
  if (!indexed) throw SlipwayError.of('ARTIFACT_NOT_FOUND', `the agent bundle ${built.digest} has no index in ${storeRoot}`);
  return { digest: built.digest, plan: await planRelease(indexed.archive, indexed.index) };
}
