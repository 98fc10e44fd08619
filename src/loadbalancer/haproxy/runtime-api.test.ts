import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlipwayError } from '../../core/errors.js';
import { adminState, parseServersState, parseStat, RuntimeApi } from './runtime-api.js';

// `show servers state be_web` and `show stat` as HAProxy 2.6.12 answers them.
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be_web 1 r1-a 127.0.0.1 0 1 10 10 1 8 2 0 6 0 0 0 - 18091 - 0 0 - - 0
3 be_web 2 r2-b 127.0.0.1 2 8 5 5 0 1 0 2 6 0 0 0 - 18092 - 0 0 - - 0

`;

const STAT = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime
be_web,r2-b,0,0,3,4,,120,0,0,,0,,1,2,0,0,UP,5,1,0,0,0,1,0,,1,3,2,,0,,2,0,,0,L7OK,200,1,0,110,0,0,7,3,,,,0,0,0,,,,,-1,,,0,0,4,5
`;

describe('HAProxy Runtime API answers', () => {
  test('show servers state: columns found by name, admin bits read as ready/drain/maint', () => {
    const s = parseServersState(STATE);
    assert.deepEqual(
      s.map((x) => [x.name, x.addr, x.port, x.weight, x.admin, x.opState]),
      [
        ['r1-a', '127.0.0.1', 18091, 10, 'maint', 0],
        ['r2-b', '127.0.0.1', 18092, 5, 'drain', 2],
      ],
    );
    assert.equal(adminState(0), 'ready');
    assert.equal(adminState(0x20), 'maint', 'maintenance from DNS resolution is maintenance too');
  });

  test('an error where a table was expected is HAPROXY_BAD_ANSWER, quoting it', () => {
    assert.throws(
      () => parseServersState("Can't find backend.\n"),
      (e: unknown) => e instanceof SlipwayError && e.code === 'HAPROXY_BAD_ANSWER' && /Can't find backend/.test(e.message),
    );
    assert.throws(
      () => parseStat('Unknown command.\n'),
      (e: unknown) => e instanceof SlipwayError && e.code === 'HAPROXY_BAD_ANSWER',
    );
  });

  test('show stat: the counters analysis and drains use', () => {
    const [row] = parseStat(STAT);
    assert.deepEqual(row, {
      proxy: 'be_web',
      name: 'r2-b',
      current: 3,
      total: 120,
      byClass: { '1xx': 0, '2xx': 110, '3xx': 0, '4xx': 0, '5xx': 7 },
      failedResponses: 2,
      failedConnections: 1,
      status: 'UP',
      avgResponseMs: 4,
    });
  });

  test('a command with a newline or ";" is refused before anything is sent', () => {
    const api = new RuntimeApi('/nonexistent/admin.sock');
    assert.throws(
      () => api.raw('set weight be/x 1; shutdown sessions server be/x'),
      (e: unknown) => e instanceof SlipwayError && e.code === 'HAPROXY_COMMAND_FAILED',
    );
  });

  test('a socket nobody listens on is HAPROXY_UNREACHABLE', async () => {
    await assert.rejects(
      new RuntimeApi('/nonexistent/admin.sock').info(),
      (e: unknown) => e instanceof SlipwayError && e.code === 'HAPROXY_UNREACHABLE',
    );
  });
});
