/**
 * `npm run fuzz -- [--cases N] [--seed S]`: a longer fuzz run through a fresh router (default
 * 4000 request cases and 1000 response cases, seed from the clock), printing the counts and every
 * failing case with the seed that reproduces it.
 */
import { parseArgs } from 'node:util';
import { fuzz } from './fuzz.js';
import { RecordingBackend } from './recording-backend.js';
import { route, startRouter } from '../helpers.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '4000' }, seed: { type: 'string' } }, strict: true });
  const cases = Number(values.cases);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  if (!Number.isInteger(cases) || cases <= 0 || !Number.isInteger(seed)) {
    console.error('usage: npm run fuzz -- [--cases N] [--seed S]  (whole numbers)');
    return 2;
  }
  const backend = await new RecordingBackend().start();
  const router = await startRouter(['--grace-ms', '1000', '--upstream-timeout-ms', '2000', '--body-timeout-ms', '1000']);
  try {
    const port = (
      await router.router.applyRoute(
        route('fuzz', [{ release: 1, weight: 1, backends: [{ id: 'b1', host: '127.0.0.1', port: backend.port }] }]),
      )
    ).listen.port;
    const started = Date.now();
    const stats = await fuzz(port, backend, seed, cases);
    console.log(
      `seed ${seed}: ${stats.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, ${stats.forwarded} forwarded, ${stats.rejected} rejected, ${stats.failures.length} failures`,
    );
    for (const f of stats.failures) console.log(`\n${f}`);
    return stats.failures.length === 0 ? 0 : 1;
  } finally {
    await router.close();
    await backend.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
