/**
 * Cross-key checks of environments and dependencies, on the document as plain data (like
 * semantic-checks.ts): names that must exist, cycles, and two services (in any environments: they
 * all run on this machine) whose router would listen on the same address and port.
 */
import { formatPath, type ConfigProblem, type PathSegment } from './problem.js';
import { closest } from './suggest.js';
import { locatePath, type YamlSource } from './yaml-source.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
const DEFAULT_HOST = '127.0.0.1';

export function environmentProblems(data: unknown, src: YamlSource): ConfigProblem[] {
  const root = asMapping(data) ?? {};
  const services = asMapping(root.services) ?? {};
  const envs = asMapping(root.environments) ?? { local: {} };
  const problem = (path: PathSegment[], message: string, suggestion?: string, at: 'key' | 'value' = 'value'): ConfigProblem => ({
    ...locatePath(src, path, at),
    path: formatPath(path),
    message,
    ...(suggestion ? { suggestion } : {}),
  });
  const unknownName = (kind: string, name: string, names: string[]) => {
    const near = closest(name, names);
    return `no ${kind} named "${name}"${near ? ` (did you mean "${near}"?)` : ''}`;
  };
  const problems: ConfigProblem[] = [];
  const envNames = Object.keys(envs);
  const serviceNames = Object.keys(services);

  if (typeof root.default === 'string' && !envNames.includes(root.default))
    problems.push(problem(['default'], unknownName('environment', root.default, envNames), `environments: ${envNames.join(', ')}`));

  for (const [env, raw] of Object.entries(envs)) {
    const e = asMapping(raw);
    for (const service of Object.keys(asMapping(e?.services) ?? {})) {
      if (!serviceNames.includes(service))
        problems.push(
          problem(
            ['environments', env, 'services', service],
            unknownName('service', service, serviceNames),
            'an environment can only set services defined under services:',
            'key',
          ),
        );
    }
    if (Array.isArray(e?.requires)) {
      e.requires.forEach((name, i) => {
        if (typeof name !== 'string') return;
        if (name === env) problems.push(problem(['environments', env, 'requires', i], `environment "${env}" cannot require itself`));
        else if (!envNames.includes(name))
          problems.push(problem(['environments', env, 'requires', i], unknownName('environment', name, envNames)));
      });
    }
  }

  for (const [name, raw] of Object.entries(services)) {
    const deps = asMapping(raw)?.dependsOn;
    if (!Array.isArray(deps)) continue;
    deps.forEach((dep, i) => {
      if (typeof dep !== 'string') return;
      if (dep === name) problems.push(problem(['services', name, 'dependsOn', i], `service "${name}" cannot depend on itself`));
      else if (!serviceNames.includes(dep))
        problems.push(problem(['services', name, 'dependsOn', i], unknownName('service', dep, serviceNames)));
    });
  }
  problems.push(...dependencyCycles(services, problem));
  problems.push(...portConflicts(services, envs, problem));
  for (const [env, raw] of Object.entries(envs)) problems.push(...sshTargetProblems(env, asMapping(asMapping(raw)?.target)?.ssh, problem));
  return problems;
}

type Problem = (path: PathSegment[], message: string, suggestion?: string) => ConfigProblem;

/** Each cycle once, reported at the dependsOn entry that closes it. */
function dependencyCycles(services: Record<string, unknown>, problem: Problem): ConfigProblem[] {
  const deps = (s: string): string[] => {
    const d = asMapping(services[s])?.dependsOn;
    return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string' && x !== s && Object.hasOwn(services, x)) : [];
  };
  const problems: ConfigProblem[] = [];
  const done = new Set<string>();
  const reported = new Set<string>();
  const visit = (s: string, stack: string[]) => {
    if (done.has(s)) return;
    const at = stack.indexOf(s);
    if (at >= 0) {
      const cycle = stack.slice(at);
      const key = [...cycle].sort().join(',');
      if (reported.has(key)) return;
      reported.add(key);
      const last = stack.at(-1)!;
      const i = deps(last).indexOf(s);
      const index = (asMapping(services[last])!.dependsOn as unknown[]).indexOf(deps(last)[i]);
      problems.push(
        problem(
          ['services', last, 'dependsOn', index],
          `dependency cycle: ${[...cycle, s].join(' → ')}`,
          'remove one of these dependsOn entries: services in a cycle could never be deployed in order',
        ),
      );
      return;
    }
    for (const d of deps(s)) visit(d, [...stack, s]);
    done.add(s);
  };
  for (const s of Object.keys(services)) visit(s, []);
  return problems;
}

/** A host listed twice, or more hosts allowed down than there are (the rollout could leave none serving). */
function sshTargetProblems(env: string, raw: unknown, problem: Problem): ConfigProblem[] {
  const ssh = asMapping(raw);
  if (!ssh || !Array.isArray(ssh.hosts)) return [];
  const problems: ConfigProblem[] = [];
  const base = ['environments', env, 'target', 'ssh'];
  const seen = new Map<string, number>();
  ssh.hosts.forEach((h, i) => {
    const host = asMapping(h);
    if (typeof host?.host !== 'string') return;
    const port = typeof host.port === 'number' ? host.port : 22;
    const key = `${host.host.toLowerCase()}:${port}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push(
        problem(
          [...base, 'hosts', i, 'host'],
          `host ${host.host} port ${port} is listed twice (also hosts[${first}])`,
          'list each server once',
        ),
      );
    else seen.set(key, i);
  });
  const max = ssh.maxUnavailableHosts;
  if (typeof max === 'number' && Number.isInteger(max) && max >= ssh.hosts.length && ssh.hosts.length > 0)
    problems.push(
      problem(
        [...base, 'maxUnavailableHosts'],
        `maxUnavailableHosts is ${max}, but there are only ${ssh.hosts.length} host(s): a rollout could take every host out of service`,
        `set it below ${ssh.hosts.length}`,
      ),
    );
  return problems;
}

/**
 * Every service of every environment gets a router listener; two on the same port of overlapping
 * addresses would refuse each other. Each is located where its port (or host) was written.
 */
function portConflicts(services: Record<string, unknown>, envs: Record<string, unknown>, problem: Problem): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const several = Object.keys(envs).length > 1;
  const taken: { env: string; name: string; port: number; host: string }[] = [];
  for (const [env, rawEnv] of Object.entries(envs)) {
    const e = asMapping(rawEnv);
    if (asMapping(e?.target)?.ssh !== undefined) continue; // runs on its servers, not on this machine
    for (const [name, raw] of Object.entries(services)) {
      const service = asMapping(raw);
      const override = asMapping(asMapping(e?.services)?.[name]);
      const port = override?.port ?? service?.port;
      const host = override?.host ?? e?.host ?? service?.host ?? DEFAULT_HOST;
      if (typeof port !== 'number' || !Number.isInteger(port) || typeof host !== 'string') continue;
      const clash = taken.find((t) => t.port === port && (t.host === host || WILDCARD_HOSTS.has(t.host) || WILDCARD_HOSTS.has(host)));
      taken.push({ env, name, port, host });
      if (!clash) continue;
      const path = override?.port !== undefined ? ['environments', env, 'services', name, 'port'] : ['services', name, 'port'];
      const where = clash.host === host ? '' : ` (${clash.host} and ${host} overlap)`;
      const owner = several ? `service "${clash.name}" in environment "${clash.env}"` : `service "${clash.name}"`;
      problems.push(
        problem(
          path,
          `port ${port}${several ? ` of service "${name}" in environment "${env}"` : ''} is already used by ${owner}${where}`,
          several
            ? `every environment runs on this machine: give each its own ports under environments.${env}.services.${name}.port`
            : 'give each service its own port',
        ),
      );
    }
  }
  return problems;
}

function asMapping(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
