/**
 * Shipping a process release to hosts (docs/servers.md): content-addressed at two levels. A host
 * that has the release (`releases/<digest hex>/`) gets nothing; otherwise it gets only the file
 * contents its store (`files/`) lacks, and the release is assembled there from hard links, then
 * verified file by file (type, mode, link target, sha256) against the artifact's index before it
 * is moved into place. Nothing may start from a release that is not in `releases/`.
 *
 * What travels, per host, in four commands on one pooled connection:
 *   1. which of the release's file contents the store lacks (the candidates: contents not already
 *      in a release the host has and whose index this machine knows);
 *   2. those files, as the artifact's own gzip segments (ADR 0015: each entry's segment stands
 *      alone, so a stream of some of them is a valid .tar.gz), into `tmp/ship-<id>/r`, by `tar -x`;
 *   3. a small gzip'd tar made here: directories (with their modes), hard links from the release
 *      to the store for every other file, symlinks; extracted by `tar -x` in the root;
 *   4. after verification, hard links store ← release for the new contents, and the move.
 * Entries pass the same checks as a local extraction (ReleaseLayout: no absolute or `..` path,
 * nothing below a symlink, links that stay inside) before anything is sent; GNU tar on the host
 * only ever sees names made here.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { ArchiveIndex } from '../artifact/archive-index.js';
import { crc32Combine } from '../artifact/crc32-combine.js';
import { ReleaseLayout, safeRelativePath } from '../artifact/extract.js';
import { endSegment, GZIP_HEADER, gzipTrailer } from '../artifact/segments.js';
import { encodeHeader, END_OF_ARCHIVE, type TarHeader } from '../artifact/tar-header.js';
import { SlipwayError } from '../core/errors.js';
import { shellScript } from '../ssh/quote.js';
import type { RemoteHost } from '../ssh/transport.js';
import type { HostLayout } from './host-layout.js';

/** One release entry, checked, with its normalised path. */
interface PlanEntry {
  rel: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  hex?: string;
  link?: string;
  /** The entry's segment in the archive (files). */
  offset: number;
  length: number;
  crc: number;
  raw: number;
}

/** A release checked once and shipped to any number of hosts. */
export interface ReleasePlan {
  digest: string;
  archive: string;
  entries: PlanEntry[];
  /** Store entry (`<hex>-<mode>`) of every file. */
  blobs: Set<string>;
}

export interface ShipResult {
  host: string;
  digest: string;
  /** `present`: the host had the release; nothing was sent but the question. */
  outcome: 'present' | 'shipped';
  files: number;
  /** Files whose content was sent (the store lacked it). */
  filesSent: number;
  /** Bytes this ship wrote to the host's connection (SSH framing and encryption included). */
  bytesSent: number;
  ms: number;
  /** Milliseconds per step: ask (what the store lacks), send (contents), link (assembly), verify, adopt (store and move). */
  steps: Record<'ask' | 'send' | 'link' | 'verify' | 'adopt', number>;
}

/**
 * Checks every entry of the artifact as a local extraction would (in a scratch directory: only
 * directories and symlinks are made, no file content), so nothing unsafe is ever sent.
 * @throws SlipwayError SHIP_UNSAFE_ENTRY
 */
export async function planRelease(archive: string, index: ArchiveIndex): Promise<ReleasePlan> {
  const scratch = await mkdtemp(join(tmpdir(), 'slipway-ship-check-'));
  try {
    const layout = new ReleaseLayout(scratch);
    const entries: PlanEntry[] = [];
    const blobs = new Set<string>();
    for (const e of index.entries) {
      let target: string | null;
      try {
        target = await layout.enter({ path: e.path, type: e.type, mode: e.mode, linkTarget: e.link, typeflag: '' });
        if (e.type === 'file' && !/^[0-9a-f]{64}$/.test(e.hex ?? '')) throw new Error('has no content hash');
      } catch (err) {
        throw unsafe(e.path, err);
      }
      const rel = target === null ? safeRelativePath(e.path) : relative(scratch, target);
      if (rel === '') continue;
      entries.push({
        rel,
        type: e.type,
        mode: e.mode & 0o7777,
        size: e.size,
        ...(e.hex ? { hex: e.hex } : {}),
        ...(e.link !== undefined ? { link: e.link } : {}),
        offset: e.offset,
        length: e.length,
        crc: e.crc,
        raw: e.raw,
      });
      if (e.type === 'file') blobs.add(blobName(e.hex!, e.mode));
    }
    try {
      layout.checkLinks();
    } catch (err) {
      throw unsafe('(a symlink)', err);
    }
    return { digest: index.digest, archive, entries, blobs };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function unsafe(path: string, err: unknown): SlipwayError {
  return SlipwayError.of('SHIP_UNSAFE_ENTRY', `cannot ship entry "${path}": ${(err as Error).message}`, {
    hint: 'The artifact has an entry a host must not write; fix the source tree (or rebuild the artifact) and deploy again.',
    details: { entry: path },
    cause: err,
  });
}

/** Off the event loop: a 20,000-entry link tar is 10 MB, and a blocked loop delays every host's keepalives. */
const gzip = promisify(gzipCallback) as (data: Buffer | string) => Promise<Buffer>;

const blobName = (hex: string, mode: number) => `${hex}-${(mode & 0o777).toString(8)}`;
const blobPath = (blob: string) => `files/${blob.slice(0, 2)}/${blob}`;

/**
 * Under the host's lock (host-gc.ts takes it too): a release present is touched (the store's GC
 * keeps the most recently shipped or used), else this ship's work directory is made, which keeps
 * a GC from sweeping the store until the ship ends. No lock without a layout root (nothing to GC).
 */
const HAS_RELEASE = `if [ -d "$(dirname "$3")" ]; then exec 9>>"$3" && flock -w 120 9 || exit 1; fi
if [ -d "$1" ]; then touch -c "$1"; echo present; else mkdir -p "$2/r" && echo absent; fi`;
/** Reads store entries (one per line, gzip'd) on stdin, prints those the store lacks. */
const MISSING = `cd "$1" && gzip -dc | while IFS= read -r b; do [ -f "$b" ] || printf '%s\\n' "$b"; done`;
const UNTAR = `cd "$1" && tar -xzf - --no-same-owner --same-permissions`;
const LISTING = `cd "$1" && find . -mindepth 1 -printf '%y %m %P\\0%l\\0'`;
const SUMS = `cd "$1" && find . -type f -printf '%P\\0' | xargs -0 -r sha256sum -z --`;
const COMMIT = `if [ -d "$2" ]; then rm -rf "$1"; else mv "$1/r" "$2" && rm -rf "$1"; fi`;
const DISCARD = `rm -rf "$1"`;

export interface ShipOptions {
  /** Digests of releases whose plans are known here: their files need no asking when the host has them. */
  known?: Map<string, ReleasePlan>;
  timeoutMs?: number;
  /** Above this many contents to ask about, list the host's whole store instead (default 2000). */
  inventoryAbove?: number;
}

/** Ships one release to one host (see the file comment). Idempotent; a failure leaves only a tmp/ship-* directory, removed. */
export async function shipRelease(host: RemoteHost, layout: HostLayout, plan: ReleasePlan, opts: ShipOptions = {}): Promise<ShipResult> {
  const started = Date.now();
  const sentBefore = host.bytesSent;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const files = plan.entries.filter((e) => e.type === 'file').length;
  const steps: ShipResult['steps'] = { ask: 0, send: 0, link: 0, verify: 0, adopt: 0 };
  let lap = Date.now();
  const step = (name: keyof ShipResult['steps']) => {
    const now = Date.now();
    steps[name] += now - lap;
    lap = now;
  };
  const done = (outcome: ShipResult['outcome'], filesSent: number): ShipResult => ({
    host: host.name,
    digest: plan.digest,
    outcome,
    files,
    filesSent,
    bytesSent: host.bytesSent - sentBefore,
    ms: Date.now() - started,
    steps,
  });
  const finalDir = layout.release(plan.digest);
  const work = `${layout.tmp}/ship-${randomBytes(6).toString('hex')}`;
  const workRel = work.slice(layout.root.length + 1);
  const present = (await host.run(shellScript(HAS_RELEASE, [finalDir, work, layout.lock]))).stdout.trim() === 'present';
  step('ask');
  if (present) return done('present', 0);
  try {
    // 1. Contents the host's store lacks; blobs of releases it has (and we know) need no asking.
    const hostReleases = new Set((await host.run(['ls', layout.releases], { check: false })).stdout.split('\n').filter(Boolean));
    const held = new Set<string>();
    for (const [digest, known] of opts.known ?? [])
      if (hostReleases.has(digest.replace(/^sha256:/, ''))) for (const b of known.blobs) held.add(b);
    const ask = [...plan.blobs].filter((b) => !held.has(b));
    const missing = new Set(
      ask.length === 0
        ? []
        : ask.length > (opts.inventoryAbove ?? ASK_ONE_BY_ONE)
          ? await lacking(host, layout, ask, timeoutMs)
          : await askEach(host, layout, ask, timeoutMs),
    );
    step('ask');
    // 2. The missing contents, once each, as the archive's own segments.
    const first = new Map<string, PlanEntry>();
    const sent: PlanEntry[] = [];
    for (const e of plan.entries) {
      if (e.type !== 'file') continue;
      const b = blobName(e.hex!, e.mode);
      if (first.has(b)) continue;
      first.set(b, e);
      if (missing.has(b)) sent.push(e);
    }
    if (sent.length)
      await host.run(shellScript(UNTAR, [`${work}/r`]), { input: Readable.from(segmentStream(plan.archive, sent)), timeoutMs });
    step('send');

    // 3. Directories, links to the store (or to the copy just sent), symlinks.
    const headers: TarHeader[] = [];
    const at = (rel: string) => `${workRel}/r/${rel}`;
    for (const e of plan.entries) if (e.type === 'directory') headers.push({ path: at(e.rel), type: 'directory', mode: e.mode, size: 0 });
    for (const e of plan.entries) {
      if (e.type !== 'file') continue;
      const b = blobName(e.hex!, e.mode);
      const src = first.get(b)!;
      if (missing.has(b)) {
        if (src !== e) headers.push({ path: at(e.rel), type: 'hardlink', mode: e.mode, size: 0, linkTarget: at(src.rel) });
      } else headers.push({ path: at(e.rel), type: 'hardlink', mode: e.mode, size: 0, linkTarget: blobPath(b) });
    }
    for (const e of plan.entries)
      if (e.type === 'symlink') headers.push({ path: at(e.rel), type: 'symlink', mode: 0o777, size: 0, linkTarget: e.link! });
    if (headers.length) await host.run(shellScript(UNTAR, [layout.root]), { input: await gzip(tarOf(headers)), timeoutMs });
    step('link');

    // Verified before it may be used: every entry's type, mode, link target and content.
    await verify(host, `${work}/r`, plan, timeoutMs);
    step('verify');

    // 4. New contents into the store (for the next release), then the release into place.
    const adopt: TarHeader[] = sent.map((e) => ({
      path: blobPath(blobName(e.hex!, e.mode)),
      type: 'hardlink',
      mode: e.mode,
      size: 0,
      linkTarget: at(e.rel),
    }));
    if (adopt.length)
      await host.run(shellScript(`${UNTAR} --skip-old-files`, [layout.root]), { input: await gzip(tarOf(adopt)), timeoutMs });
    await host.run(shellScript(COMMIT, [work, finalDir]));
    step('adopt');
    return done('shipped', sent.length);
  } catch (err) {
    await host.run(shellScript(DISCARD, [work]), { check: false }).catch(() => undefined);
    throw err;
  }
}

/** Above this many candidates, listing the whole store (one `find`) beats testing each name in a shell loop. */
const ASK_ONE_BY_ONE = 2000;
const INVENTORY = `cd "$1" 2>/dev/null && find . -type f -printf '%f\\n' || true`;

async function askEach(host: RemoteHost, layout: HostLayout, ask: string[], timeoutMs: number): Promise<string[]> {
  const input = await gzip(ask.map((b) => `${blobPath(b)}\n`).join(''));
  const { stdout } = await host.run(shellScript(MISSING, [layout.root]), { input, timeoutMs });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((p) => p.slice(p.lastIndexOf('/') + 1));
}

async function lacking(host: RemoteHost, layout: HostLayout, ask: string[], timeoutMs: number): Promise<string[]> {
  const have = new Set((await host.run(shellScript(INVENTORY, [layout.files]), { timeoutMs })).stdout.split('\n'));
  return ask.filter((b) => !have.has(b));
}

function tarOf(headers: TarHeader[]): Buffer {
  return Buffer.concat([...headers.map((h) => encodeHeader(h)), END_OF_ARCHIVE]);
}

/**
 * A .tar.gz of some of the archive's entries: its gzip header, their segments, the end segment, a
 * combined trailer. Entries next to each other in the archive are read as one range (a first ship
 * sends nearly all of them: one read per file was 20,000 thread-pool trips per host).
 */
async function* segmentStream(archive: string, entries: PlanEntry[]): AsyncGenerator<Buffer> {
  yield GZIP_HEADER;
  let crc = 0;
  let raw = 0;
  const runs: { start: number; end: number }[] = [];
  for (const e of entries) {
    crc = crc32Combine(crc, e.crc, e.raw);
    raw += e.raw;
    const last = runs.at(-1);
    if (last && last.end === e.offset) last.end += e.length;
    else runs.push({ start: e.offset, end: e.offset + e.length });
  }
  for (const r of runs) {
    let got = 0;
    for await (const chunk of createReadStream(archive, { start: r.start, end: r.end - 1, highWaterMark: 1024 * 1024 })) {
      got += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (got !== r.end - r.start) throw new Error(`the archive ${archive} is shorter than its index says`);
  }
  const end = await endSegment();
  crc = crc32Combine(crc, end.crc, end.rawLength);
  raw += end.rawLength;
  yield end.data;
  yield gzipTrailer(crc, raw);
}

/** Compares the assembled tree with the plan; SHIP_VERIFY_FAILED names the first differences. */
async function verify(host: RemoteHost, dir: string, plan: ReleasePlan, timeoutMs: number): Promise<void> {
  const listing = (await host.run(shellScript(LISTING, [dir]), { timeoutMs })).stdout.split('\0');
  const sums = (await host.run(shellScript(SUMS, [dir]), { timeoutMs })).stdout.split('\0');
  const found = new Map<string, { type: string; mode: number; link: string }>();
  for (let i = 0; i + 1 < listing.length; i += 2) {
    const head = listing[i]!;
    const s1 = head.indexOf(' ');
    const s2 = head.indexOf(' ', s1 + 1);
    found.set(head.slice(s2 + 1), { type: head.slice(0, s1), mode: Number.parseInt(head.slice(s1 + 1, s2), 8), link: listing[i + 1]! });
  }
  const hashes = new Map<string, string>();
  for (const line of sums) if (line.length > 66) hashes.set(line.slice(66), line.slice(0, 64));
  const wrong: string[] = [];
  const parents = new Set<string>();
  for (const e of plan.entries) {
    for (let p = e.rel; p.includes('/');) parents.add((p = p.slice(0, p.lastIndexOf('/'))));
    const f = found.get(e.rel);
    found.delete(e.rel);
    const want = e.type === 'file' ? 'f' : e.type === 'directory' ? 'd' : 'l';
    if (!f) wrong.push(`${e.rel}: missing`);
    else if (f.type !== want) wrong.push(`${e.rel}: a ${f.type}, not a ${want}`);
    else if (e.type === 'symlink' && f.link !== e.link) wrong.push(`${e.rel}: links to ${f.link}, not ${e.link}`);
    else if (e.type !== 'symlink' && f.mode !== e.mode) wrong.push(`${e.rel}: mode ${f.mode.toString(8)}, not ${e.mode.toString(8)}`);
    else if (e.type === 'file' && hashes.get(e.rel) !== e.hex)
      wrong.push(`${e.rel}: content differs (sha256 ${hashes.get(e.rel) ?? 'unreadable'})`);
  }
  for (const [rel, f] of found) if (!(f.type === 'd' && parents.has(rel))) wrong.push(`${rel}: not in the release`);
  if (wrong.length)
    throw SlipwayError.of(
      'SHIP_VERIFY_FAILED',
      `the release ${plan.digest.slice(0, 19)} assembled on ${host.name} does not match its artifact: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? ` (and ${wrong.length - 5} more)` : ''}`,
      {
        hint: "It was removed and nothing was started. Ship again; if it repeats, check the host's disk and its files/ store.",
        details: { host: host.name, digest: plan.digest, problems: wrong.slice(0, 50) },
      },
    );
}
