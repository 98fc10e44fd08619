/**
 * One TrafficRouter conformance suite (src/router/router-contract.ts), passed by the built-in router
 * and by HAProxy driven through its Runtime API.
 */
import { describeRouterContract } from '../../src/router/router-contract.js';
import { LocalRouter } from '../../src/router/local-router.js';
import { HaproxyRouter } from '../../src/loadbalancer/haproxy/haproxy-router.js';

describeRouterContract('builtin', (stateDir) => new LocalRouter({ stateDir }));
describeRouterContract('haproxy', (stateDir) => new HaproxyRouter({ stateDir }));
