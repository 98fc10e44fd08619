/**
 * Loading slipway.yaml: read, parse with positions, validate against the one schema, run the checks
 * the schema cannot express, and report every problem at once with file, line, column and key path.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { formatProblemLine } from './format.js';
import type { ConfigProblem } from './problem.js';
import { configSchema, ENVIRONMENT_SERVICE_KEYS, type SlipwayConfig } from './schema.js';
import { rememberWrittenKeys } from './environments.js';
import { schemaProblems } from './schema-problems.js';
import { resolveSource, semanticProblems, type PathKind } from './semantic-checks.js';
import { policyProblems } from './policy-checks.js';
import { flagProblems } from './flag-checks.js';
import { flagReferenceProblems } from './flag-reference-checks.js';
import { duplicateKeyProblems, parseYaml, syntaxProblems, toData } from './yaml-source.js';

/**
 * The largest config file Slipway reads: 1 MiB. Real configs are a few KiB; a bigger file is a
 * mistake (or an attack) that would otherwise cost the controller seconds and gigabytes.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** File names looked for, in order of preference. */
export const CONFIG_FILE_NAMES = ['slipway.yaml', 'slipway.yml'] as const;

/** A valid configuration and where it came from. */
export interface LoadedConfig {
  /** The validated config with defaults applied; every service's `source` is an absolute path. */
  config: SlipwayConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the directory holding it (relative paths in the config are relative to it). */
  dir: string;
  /** Problems that do not stop loading (YAML warnings, settings Slipway adjusts); callers should show them. */
  warnings: ConfigProblem[];
}

export interface ParseOptions {
  /**
   * Directory relative `source` paths resolve against.
   * @default the directory of `fileName`
   */
  dir?: string;
  /** Looks a resolved `source` up on disk; when omitted (as for pure parsing), sources are not checked. */
  pathKind?: (absolutePath: string) => PathKind;
}

/** Details carried by a CONFIG_INVALID error (and sent over the API as `details`). */
export interface ConfigInvalidDetails {
  file: string;
  problems: ConfigProblem[];
}

/**
 * Reads and validates a config file (or the slipway.yaml inside a directory).
 * @throws SlipwayError CONFIG_NOT_FOUND when there is no such file, CONFIG_UNREADABLE when it cannot be
 *   read, CONFIG_TOO_LARGE over MAX_CONFIG_BYTES, CONFIG_TOO_MANY_ALIASES (see `checkConfigText`),
 *   CONFIG_INVALID with `details: ConfigInvalidDetails` listing every problem.
 */
export function loadConfig(path: string): LoadedConfig {
  const file = pathKind(path) === 'directory' ? findConfigFile(path) : path;
  let text: string;
  try {
    text = readBounded(file, MAX_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw SlipwayError.of('CONFIG_NOT_FOUND', `config file not found: ${file}`, { hint: NOT_FOUND_HINT, details: { file }, cause: err });
    }
    throw SlipwayError.of('CONFIG_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'Check that the file is readable by the user running slipway.',
      details: { file },
      cause: err,
    });
  }
  const dir = dirname(resolve(file));
  const { config, warnings } = parseConfigText(text, file, { dir, pathKind });
  return { config, file: resolve(file), dir, warnings };
}

/**
 * Reads at most `limit` bytes of `file` as UTF-8, refusing a larger file before reading it whole:
 * by its size first, and by reading one byte past the limit for what `stat` cannot size (a pipe,
 * a device, a file still growing).
 */
function readBounded(file: string, limit: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > limit) throw tooLarge(file, size, limit);
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > limit) throw tooLarge(file, undefined, limit);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function tooLarge(file: string, size: number | undefined, limit: number): SlipwayError {
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  return SlipwayError.of(
    'CONFIG_TOO_LARGE',
    `${file} is ${size === undefined ? 'larger than' : mib(size) + ', over'} the limit of ${mib(limit)} for a config file`,
    {
      hint: 'A slipway.yaml is a few KiB: check that --dir or the file argument points at the right file; move large data out of the config (e.g. into files the service reads).',
      details: { file, bytes: size ?? null, limit },
    },
  );
}

/**
 * Validates config text without touching the filesystem (unless `options.pathKind` is given).
 * `fileName` only labels problems. Sources are resolved against `options.dir`.
 * @throws SlipwayError CONFIG_INVALID with `details: ConfigInvalidDetails`; its message is a one-line
 *   summary, and the problems themselves are in `details.problems` (render them with `formatProblems`).
 */
export function parseConfigText(
  text: string,
  fileName: string,
  options: ParseOptions = {},
): { config: SlipwayConfig; warnings: ConfigProblem[] } {
  const result = checkConfigText(text, fileName, options);
  if (!result.config) {
    const { problems } = result;
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    // One line: callers show `details.problems` (formatProblems) under it; a lone problem is spelt out.
    const message =
      problems.length === 1 ? `${fileName} is not valid: ${formatProblemLine(problems[0]!)}` : `${fileName} is not valid: ${count}`;
    const details: ConfigInvalidDetails = { file: fileName, problems };
    throw SlipwayError.of('CONFIG_INVALID', message, {
      details,
      hint: 'Fix the problems listed; docs/configuration.md describes every key, and editors can check the file with schema/slipway.schema.json.',
    });
  }
  return { config: result.config, warnings: result.warnings };
}

/**
 * Like `parseConfigText`, but returns the problems instead of throwing: `config` is set exactly when
 * `problems` is empty. For callers that show problems as data (an editor, a `validate` command).
 * @throws SlipwayError CONFIG_TOO_MANY_ALIASES when YAML aliases would expand past MAX_ALIAS_COUNT
 *   (an "alias bomb"): no sensible config comes near it, so it is refused rather than reported.
 */
export function checkConfigText(
  text: string,
  fileName: string,
  options: ParseOptions = {},
): { config?: SlipwayConfig; problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const src = parseYaml(text, fileName);
  const syntax = syntaxProblems(src);
  // A broken document parses into guesses; schema problems about guesses would only be noise.
  if (syntax.errors.length > 0) return { problems: sortProblems(syntax.errors), warnings: syntax.warnings };

  const data: unknown = toData(src);
  const dir = options.dir ?? dirname(resolve(fileName));
  const parsed = configSchema.safeParse(data);
  const semantic = semanticProblems(data, src, { dir, ...(options.pathKind ? { pathKind: options.pathKind } : {}) });
  const problems = sortProblems([
    ...duplicateKeyProblems(src),
    ...(parsed.success ? [] : schemaProblems(parsed.error.issues, data, configSchema, src)),
    ...semantic.errors,
    ...policyProblems(data, src),
    ...flagProblems(data, src),
    ...flagReferenceProblems(data, src),
  ]);
  const warnings = sortProblems([...syntax.warnings, ...semantic.warnings]);
  if (problems.length > 0 || !parsed.success) return { problems, warnings };

  const config = parsed.data;
  for (const service of Object.values(config.services)) {
    if (service.source !== undefined) service.source = resolveSource(service.source, dir);
    if (typeof service.image === 'object') service.image = { ...service.image, build: resolveSource(service.image.build, dir) };
  }
  keepWrittenKeys(config, data);
  return { config, problems: [], warnings };
}

/**
 * Layering needs to know what the file wrote, not what the schema filled in: a service's written
 * keys are remembered (for `config show`'s "default" or "service"), and an environment's settings
 * keep only the keys written, so a default never overrides a service's own value.
 */
function keepWrittenKeys(config: SlipwayConfig, data: unknown): void {
  const raw = asRecord(data);
  for (const [name, service] of Object.entries(config.services))
    rememberWrittenKeys(service, Object.keys(asRecord(asRecord(raw.services)[name])));
  const rawEnvs = asRecord(raw.environments);
  for (const [name, env] of Object.entries(config.environments)) {
    const rawEnv = asRecord(rawEnvs[name]);
    const mutable = env as Record<string, unknown>;
    for (const key of ENVIRONMENT_SERVICE_KEYS) if (!(key in rawEnv)) delete mutable[key];
    const rawOverrides = asRecord(rawEnv.services);
    for (const [service, override] of Object.entries(env.services)) {
      const o = override as Record<string, unknown>;
      for (const key of Object.keys(o)) if (!(key in asRecord(rawOverrides[service]))) delete o[key];
    }
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The config file in `startDir` (slipway.yaml, else slipway.yml). Only that directory is searched:
 * picking up some parent's config by surprise would deploy the wrong application.
 * @throws SlipwayError CONFIG_NOT_FOUND
 */
export function findConfigFile(startDir: string): string {
  const tried = CONFIG_FILE_NAMES.map((name) => join(startDir, name));
  const found = tried.find((file) => pathKind(file) === 'file');
  if (found) return found;
  throw SlipwayError.of('CONFIG_NOT_FOUND', `no ${CONFIG_FILE_NAMES.join(' or ')} in ${resolve(startDir)}`, {
    hint: NOT_FOUND_HINT,
    details: { dir: resolve(startDir), tried },
  });
}

const NOT_FOUND_HINT =
  'Run slipway in the directory that holds slipway.yaml, point at it with --dir <path>, or create one with `slipway init`.';

function pathKind(path: string): PathKind {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
