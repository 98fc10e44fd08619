/** Test data for the quoting checks (the unit test here and the transport conformance suite). */

/** Values a slipway.yaml could hold that would run something if they reached a shell unquoted. */
export const HOSTILE = (marker: string): string[] => [
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `; touch ${marker}`,
  `&& touch ${marker}`,
  `| touch ${marker}`,
  `x'; touch ${marker}; '`,
  `"; touch ${marker}; "`,
  `line1\ntouch ${marker}`,
  `\\'`,
  `*`,
  `~root`,
  `$HOME`,
  `a\tb  c`,
  '',
  `--flag=$(id)`,
  'ünïcødé ✓',
];
