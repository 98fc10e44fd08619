/**
 * What kind of app a directory holds, for `slipway init`: how to build it and how to start it.
 * Only files are read (package.json, pyproject.toml/requirements.txt, go.mod, Procfile); nothing
 * runs. A guess that may be wrong says so in a comment of the starter, never silently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AppKind {
  /** For people: "Node.js (package.json)". */
  kind: string;
  build: string | undefined;
  start: string;
  /** Caveats to write next to the guess. */
  notes: string[];
  /** Where the build puts the app's commands (a Procfile's command expects them on PATH, as on Heroku). */
  binDir?: string;
}

/** The start command of a Procfile's `web:` process (Heroku's convention), if any. */
export function procfileWeb(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^web:\s*(.+?)\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function detectAppKind(dir: string): AppKind {
  const has = (f: string) => existsSync(join(dir, f));
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const procfile = has('Procfile') ? procfileWeb(read('Procfile')) : undefined;
  const base = detectBase(dir, has, read);
  if (procfile === undefined) return base;
  const start = base.binDir ? `PATH=${base.binDir}:$PATH ${procfile}` : procfile;
  return {
    ...base,
    kind: base.kind === 'unknown' ? 'Procfile' : `${base.kind} + Procfile`,
    start,
    notes: base.notes.filter((n) => !n.startsWith('start:')),
  };
}

function detectBase(dir: string, has: (f: string) => boolean, read: (f: string) => string): AppKind {
  if (has('package.json')) {
    let pkg: { main?: unknown; scripts?: Record<string, unknown> } = {};
    const notes: string[] = [];
    try {
      pkg = JSON.parse(read('package.json')) as typeof pkg;
    } catch {
      notes.push('package.json is not valid JSON: check start');
    }
    const lock = has('package-lock.json') || has('npm-shrinkwrap.json');
    const build = lock ? 'npm ci --omit=dev' : 'npm install --omit=dev';
    if (!lock) notes.push('no package-lock.json: `npm install` instead of `npm ci` (commit a lockfile for reproducible builds)');
    const main = typeof pkg.main === 'string' && pkg.main ? pkg.main : undefined;
    if (typeof pkg.scripts?.start === 'string')
      return { kind: 'Node.js (package.json)', build, start: 'npm start', notes, binDir: 'node_modules/.bin' };
    if (main) return { kind: 'Node.js (package.json)', build, start: `node ${main}`, notes, binDir: 'node_modules/.bin' };
    const entry = ['server.js', 'index.js', 'app.js', 'main.js'].find(has) ?? 'index.js';
    notes.push(`start: package.json has neither scripts.start nor main; guessed ${entry}`);
    return { kind: 'Node.js (package.json)', build, start: `node ${entry}`, notes, binDir: 'node_modules/.bin' };
  }
  if (has('pyproject.toml') || has('requirements.txt')) {
    // --copies: a venv of symlinks to the system python would point outside the release.
    const install = has('requirements.txt') ? '.venv/bin/python -m pip install -r requirements.txt' : '.venv/bin/python -m pip install .';
    const entry = ['app.py', 'main.py', 'server.py', 'wsgi.py'].find(has);
    const notes = entry ? [] : ['start: no app.py, main.py, server.py or wsgi.py found; guessed app.py'];
    if (has('manage.py') && !entry)
      return {
        kind: 'Python (Django)',
        build: `python3 -m venv --copies .venv && ${install}`,
        start: '.venv/bin/python manage.py runserver 127.0.0.1:$PORT --noreload',
        notes: ['start: the development server; use gunicorn in production'],
        binDir: '.venv/bin',
      };
    return {
      kind: `Python (${has('requirements.txt') ? 'requirements.txt' : 'pyproject.toml'})`,
      build: `python3 -m venv --copies .venv && ${install}`,
      start: `.venv/bin/python ${entry ?? 'app.py'}`,
      notes,
      binDir: '.venv/bin',
    };
  }
  if (has('go.mod')) return { kind: 'Go (go.mod)', build: 'go build -o app .', start: './app', notes: [] };
  return {
    kind: 'unknown',
    build: undefined,
    start: 'node server.js',
    notes: ['start: could not tell what kind of app this is (no package.json, pyproject.toml, requirements.txt, go.mod or Procfile)'],
  };
}
