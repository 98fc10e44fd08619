#!/usr/bin/env node
/**
 * The slipway CLI: commander parses the command line against the registry (commands/index.ts),
 * the command runs, and every error becomes a message, a hint and an exit code (docs/errors.md).
 * Exit 70 is kept for real bugs: people's mistakes are usage errors (exit 2) that say what to do.
 */
import { runCli } from './run-cli.js';

// A reader that goes away (`slipway status | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 70;
  },
);
