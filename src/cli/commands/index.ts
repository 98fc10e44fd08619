/**
 * Every command of the CLI, in the order `slipway help` lists them. Adding a command: write its
 * file (a CliCommand) and add it here; help, parsing and shell completion follow from this list.
 */
import type { CliCommand } from '../context.js';
import { init } from './init.js';
import { up } from './up.js';
import { deploy } from './deploy.js';
import { plan } from './plan.js';
import { status } from './status.js';
import { history } from './history.js';
import { rollback } from './rollback.js';
import { promote } from './promote.js';
import { ship } from './ship.js';
import { pause } from './pause.js';
import { resume } from './resume.js';
import { abort } from './abort.js';
import { retry } from './retry.js';
import { approve, reject } from './approve.js';
import { logs } from './logs.js';
import { restart } from './restart.js';
import { scale } from './scale.js';
import { exec } from './exec.js';
import { startup } from './startup.js';
import { validate } from './validate.js';
import { policyTest } from './policy-test.js';
import { configShow } from './config-show.js';
import { down } from './down.js';
import { server } from './server.js';
import { completion } from './completion.js';
import { stateList } from './state-list.js';
import { stateRestore } from './state-restore.js';
import { secretsSet } from './secrets-set.js';
import { secretsList } from './secrets-list.js';
import { secretsRm } from './secrets-rm.js';
import { hosts, hostsCheck, hostsGc, hostsSetup } from './hosts.js';
import { tokensCreate } from './tokens-create.js';
import { tokensList } from './tokens-list.js';
import { tokensRevoke } from './tokens-revoke.js';
import { audit } from './audit.js';
import { dashboard } from './dashboard.js';
import { events } from './events.js';
import { watch } from './watch.js';
import { flagsExport, flagsGet, flagsHistory, flagsList, flagsRevert, flagsSet } from './flags.js';
import { flagsRamp } from './flags-ramp.js';

export const COMMANDS: readonly CliCommand[] = [
  init,
  up,
  plan,
  deploy,
  status,
  history,
  rollback,
  ship,
  promote,
  pause,
  resume,
  abort,
  retry,
  approve,
  reject,
  restart,
  scale,
  logs,
  events,
  watch,
  exec,
  validate,
  policyTest,
  configShow,
  down,
  server,
  startup,
  stateList,
  stateRestore,
  secretsSet,
  secretsList,
  secretsRm,
  hosts,
  hostsCheck,
  hostsSetup,
  hostsGc,
  tokensCreate,
  tokensList,
  tokensRevoke,
  audit,
  dashboard,
  flagsList,
  flagsGet,
  flagsSet,
  flagsHistory,
  flagsRevert,
  flagsRamp,
  flagsExport,
  completion,
] as CliCommand[];
