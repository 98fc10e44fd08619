/** How policy outcomes read in the terminal. */
import { terminalLine } from '../../core/terminal-text.js';
import type { PolicyViolation } from '../../policy/evaluate.js';
import { describeViolation } from '../../policy/evaluate.js';
import type { Output } from '../output.js';

/** One line on stderr per warn-mode policy the deploy of `service` violated (it went ahead). */
export function printPolicyWarnings(out: Output, service: string, warnings: readonly PolicyViolation[] | undefined): void {
  for (const w of warnings ?? [])
    out.err(`${out.paint('yellow', 'warning:')} ${terminalLine(service)}: policy ${terminalLine(describeViolation(w))}`);
}
