/**
 * `npm run bench`: every benchmark, side by side with its peer, in one run on this machine.
 * Each module prints its own table; see docs/benchmarks.md for how to read them.
 * Run one with `npm run bench -- router` (names: zero-downtime, router, canary-rollback, artifacts,
 * ship, fleet, policy, cel-conformance, api, flags, dashboard;
 * artifacts also takes --huge, --files=N,M and --rounds=N).
 */
const benches: { name: string; load: () => Promise<{ run: () => Promise<void> }> }[] = [
  { name: 'zero-downtime', load: () => import('./zero-downtime.js') },
  { name: 'router', load: () => import('./router.js') },
  { name: 'canary-rollback', load: () => import('./canary-rollback.js') },
  { name: 'artifacts', load: () => import('./artifacts.js') },
  { name: 'ship', load: () => import('./ship.js') },
  { name: 'agent-install', load: () => import('./agent-install.js') },
  { name: 'fleet', load: () => import('./fleet.js') },
  { name: 'policy', load: () => import('./policy.js') },
  { name: 'cel-conformance', load: () => import('./cel-conformance.js') },
  { name: 'api', load: () => import('./api.js') },
  { name: 'flags', load: () => import('./flags.js') },
  { name: 'dashboard', load: () => import('./dashboard.js') },
];

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const b of benches) {
    if (names.length > 0 && !names.includes(b.name)) continue;
    console.log(`\n=== ${b.name} ===`);
    const mod = await b.load();
    await mod.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
