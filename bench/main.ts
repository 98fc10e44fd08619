/**
 * `npm run bench`: every benchmark, side by side with its peer, in one run on this machine.
 * Each module prints its own table; see the README's "Benchmarks" section for how to read them.
 */
const benches: { name: string; load: () => Promise<{ run: () => Promise<void> }> }[] = [];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const b of benches) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    console.log(`\n=== ${b.name} ===`);
    const mod = await b.load();
    await mod.run();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
