/**
 * The router's log (supervisor and worker): the common format of src/core/logger.ts on stdout,
 * which the client redirects to DIR/router.log. Nothing is logged per request: that would cost
 * more than proxying it.
 */
import { createLogger } from '../core/logger.js';

export const log = createLogger('router', (line) => {
  process.stdout.write(line);
});
