import { transportConformance } from './conformance.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';

transportConformance('ssh2', (log) => new Ssh2Transport(log));
