/**
 * The YAML side of config loading: parsing with positions, syntax and duplicate-key problems, and
 * finding the line and column of the node at a key path (so schema problems point at the source).
 */
import { Document, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { SlipwayError } from '../core/errors.js';
import { formatPath, type ConfigProblem, type PathSegment } from './problem.js';

/**
 * How far YAML aliases may expand: the yaml library's own measure (uses of an anchor times the
 * aliases inside it), its default. Anchors used to share a few settings stay far below it; a
 * "billion laughs" document goes past it at once instead of eating the controller's memory.
 */
export const MAX_ALIAS_COUNT = 100;

/** A parsed slipway.yaml with what is needed to locate problems in it. */
export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Parses `text`; duplicate keys are left in the document so that `duplicateKeyProblems` can name both places. */
export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, keepSourceTokens: false });
  return { file, text, doc, lines };
}

/**
 * The plain data of the document, aliases expanded up to MAX_ALIAS_COUNT.
 * @throws SlipwayError CONFIG_TOO_MANY_ALIASES past it.
 */
export function toData(src: YamlSource): unknown {
  try {
    return src.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias count/i.test(err.message)) {
      throw SlipwayError.of(
        'CONFIG_TOO_MANY_ALIASES',
        `${src.file} expands YAML aliases past the limit of ${MAX_ALIAS_COUNT} (an alias of an alias of … grows exponentially)`,
        {
          hint: 'Write the repeated settings out, or use fewer levels of anchors (&name) and aliases (*name).',
          details: { file: src.file, limit: MAX_ALIAS_COUNT },
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** Every YAML syntax error and warning, each at the position the yaml library reports. */
export function syntaxProblems(src: YamlSource): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const toProblem = (e: { message: string; pos: [number, number] }): ConfigProblem => ({
    ...problemAt(src, e.pos[0], e.pos[1]),
    path: '',
    // The library's messages may carry a trailing source excerpt after a blank line; keep the sentence.
    message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/:$/, '')}`,
  });
  return { errors: src.doc.errors.map(toProblem), warnings: src.doc.warnings.map(toProblem) };
}

/** One problem per repeated key in any mapping, at the repeat, naming the line of the first. */
export function duplicateKeyProblems(src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const visit = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      const seen = new Map<string, Pair>();
      for (const pair of node.items) {
        const key = keyText(pair);
        const first = seen.get(key);
        if (first) {
          const firstLine = src.lines.linePos(rangeOf(first.key)?.[0] ?? 0).line;
          problems.push({
            ...locate(src, pair.key),
            path: formatPath([...path, key]),
            message: `duplicate key "${key}" (first defined on line ${firstLine}); the later value would silently win`,
            suggestion: 'remove or rename one of them',
          });
        } else seen.set(key, pair);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => visit(item, [...path, i]));
  };
  visit(src.doc.contents, []);
  return problems;
}

/**
 * Position of the node at `path`. `at: 'key'` points at the key itself (for unknown keys); by default
 * it points at the value, falling back to the key when the value is empty, and to the nearest
 * existing ancestor when the path does not exist (a missing key is reported at its parent mapping).
 */
export function locatePath(
  src: YamlSource,
  path: readonly PathSegment[],
  at: 'value' | 'key' = 'value',
): Omit<ConfigProblem, 'path' | 'message'> {
  let node: unknown = src.doc.contents;
  let lastPair: Pair | undefined;
  for (const seg of path) {
    node = resolveAlias(src, node);
    if (isMap(node)) {
      const pair = node.items.findLast((p) => keyText(p) === String(seg));
      if (!pair) break;
      lastPair = pair;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      lastPair = undefined;
      node = node.items[seg];
    } else break;
  }
  if (at === 'key' && lastPair?.key) return locate(src, lastPair.key);
  const value = node as Node | null;
  const empty = value === null || (isScalar(value) && value.value === null && value.source === '');
  // A block mapping or list starts at its first entry; the key that owns it is what the reader sees.
  const block = (isMap(value) || isSeq(value)) && !value.flow;
  if ((empty || block) && lastPair) return locate(src, lastPair.key);
  return locate(src, value ?? src.doc.contents);
}

/** Position of a node (or the document start when the node has none). */
function locate(src: YamlSource, node: unknown): Omit<ConfigProblem, 'path' | 'message'> {
  const range = rangeOf(node);
  return range ? problemAt(src, range[0], range[1]) : problemAt(src, 0, 0);
}

function problemAt(src: YamlSource, start: number, end: number): Omit<ConfigProblem, 'path' | 'message'> {
  const { line, col } = src.lines.linePos(start);
  const lineStart = src.lines.lineStarts[line - 1] ?? 0;
  const nextLine = src.lines.lineStarts[line];
  const lineText = src.text.slice(lineStart, nextLine === undefined ? undefined : nextLine - 1).replace(/\r$/, '');
  const endColumn = end > start && end - lineStart <= lineText.length ? end - lineStart + 1 : undefined;
  return { file: src.file, line, column: col, lineText, ...(endColumn === undefined ? {} : { endColumn }) };
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ?? undefined;
}

function resolveAlias(src: YamlSource, node: unknown): unknown {
  return isAlias(node) ? node.resolve(src.doc) : node;
}

function keyText(pair: Pair): string {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return String(key);
}
