import { describeDriverContract } from '../../src/drivers/driver-contract.js';
import { LocalDriver } from '../../src/drivers/local/local-driver.js';

describeDriverContract('local', (stateDir) => new LocalDriver({ stateDir, adoptedPollMs: 50 }));
