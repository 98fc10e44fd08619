// A node:test reporter that writes nothing while tests run and, at the end, every failed test
// with its file and error: run-tests.mjs prints it last, so the tail of a long CI log (often all
// that is kept) says what failed and why.
const MAX_LINES = 40;

function describeError(err) {
  // node:test wraps a test's error in ERR_TEST_FAILURE; its cause is what the test threw.
  const e = err?.code === 'ERR_TEST_FAILURE' && err.cause ? err.cause : err;
  const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  const lines = text.split('\n').filter((l) => !/\(node:|node_modules/.test(l));
  return lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES), `... (${lines.length - MAX_LINES} more lines)`] : lines;
}

export default async function* failures(source) {
  const failed = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const d = event.data;
    // A suite fails when a test in it failed: report the test, not the suite again.
    if (d.details?.type === 'suite' || d.details?.error?.failureType === 'subtestsFailed') continue;
    failed.push({ name: d.name, file: d.file, error: d.details?.error });
  }
  if (failed.length === 0) return;
  yield `\n=== ${failed.length} failed test(s) ===\n`;
  for (const f of failed) {
    yield `\n--- ${f.name}${f.file ? ` (${f.file.replace(/^.*\/dist\//, 'dist/')})` : ''}\n`;
    for (const line of describeError(f.error)) yield `    ${line}\n`;
  }
}
