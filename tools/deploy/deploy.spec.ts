// Static checks of the deployment files (no Docker here): the compose file and
// the Kubernetes manifests must describe the topology the code actually has.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = resolve(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const IMAGE = `baton:${version}`;

/** The processes of the production topology. */
const SERVICES = ['catalog', 'trigger', 'scheduler', 'tenancy', 'audit', 'insight'] as const;
const TOPOLOGY = [...SERVICES, 'edge', 'agent', 'migrate'] as const;
type Component = (typeof TOPOLOGY)[number];
const CLI = 'services/cli/dist/main.js';

type Obj = Record<string, any>;

function parseYaml(path: string): Obj[] {
  const docs = parseAllDocuments(read(path), { merge: true });
  return docs.map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS({ maxAliasCount: 1000 }) as Obj;
  });
}

function walk(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(root, p)).isDirectory() ? walk(p) : [p];
  });
}

function sources(dir: string): string[] {
  return walk(dir).filter((p) => p.endsWith('.ts') && !p.endsWith('.spec.ts') && !p.includes('/test/'));
}

// ---- what the code knows -------------------------------------------------

/** Env names of libs/config's schema and client env, the edge's, and the agent token. */
function knownEnvNames(): Set<string> {
  const config = read('libs/config/src/config.ts');
  const schema = config.slice(
    config.indexOf('const schema = z.object({'),
    config.indexOf('\n});', config.indexOf('const schema')),
  );
  const names = new Set([...schema.matchAll(/^\s+(BATON_[A-Z0-9_]+):/gm)].map((m) => m[1]!));
  for (const m of config.matchAll(/env\.(BATON_[A-Z0-9_]+)/g)) names.add(m[1]!);
  for (const m of read('services/edge/src/edge.config.ts').matchAll(/'(BATON_[A-Z0-9_]+)'/g)) names.add(m[1]!);
  names.add('BATON_AGENT_TOKEN');
  return names;
}

/** Route paths that some source file serves (`@Get('healthz')`, `'/readyz'`, ...). */
function servedHealthPaths(dirs: string[]): Set<string> {
  const served = new Set<string>();
  for (const file of dirs.flatMap((d) => (existsSync(join(root, d)) ? sources(d) : []))) {
    for (const m of read(file).matchAll(/['"`]\/?(healthz|readyz)['"`]/g)) served.add(`/${m[1]}`);
  }
  return served;
}

const edgeRoutes = () =>
  [...read('services/edge/src/routes.ts').matchAll(/\{ pattern: '([^']+)', service: '([a-z]+)' \}/g)].map((m) => ({
    pattern: m[1]!,
    service: m[2]!,
  }));
const edgeServiceNames = () => {
  const m = /SERVICE_NAMES = \[([^\]]+)\]/.exec(read('services/edge/src/routes.ts'));
  return [...(m?.[1] ?? '').matchAll(/'([a-z]+)'/g)].map((x) => x[1]!);
};
const upstreamEnv = (service: string) => `BATON_${service.toUpperCase()}_URL`;

/** The file a `node <file>` command runs must be one the build produces. */
function checkCommand(where: string, command: unknown): string[] {
  if (!Array.isArray(command) || command[0] !== 'node')
    return [`${where}: command must be ["node", <file>, ...], got ${JSON.stringify(command)}`];
  const file = String(command[1]);
  const m = /^services\/([a-z-]+)\/dist\/main\.js$/.exec(file);
  if (!m) return [`${where}: runs ${file}, which is not a services/<svc>/dist/main.js entry point`];
  const svc = m[1]!;
  const problems: string[] = [];
  if (!existsSync(join(root, `services/${svc}/src/main.ts`))) {
    problems.push(
      `${where}: runs ${file}, but services/${svc}/src/main.ts is missing, so the build does not produce it`,
    );
  }
  const build = JSON.parse(read('tsconfig.build.json')) as { references: Array<{ path: string }> };
  if (!build.references.some((r) => r.path === `services/${svc}`)) {
    problems.push(
      `${where}: runs ${file}, but tsconfig.build.json has no reference { "path": "services/${svc}" }, so npm run build skips it`,
    );
  }
  if (file === CLI) {
    const sub = String(command[2]);
    if (!read('services/cli/src/main.ts').includes(`.command('${sub}')`))
      problems.push(`${where}: the CLI has no "${sub}" command`);
  }
  return problems;
}

/** Which topology component a container is, by the file it runs. */
function componentOf(command: unknown): Component | null {
  if (!Array.isArray(command)) return null;
  if (command[1] === CLI) return command[2] === 'migrate' ? 'migrate' : command[2] === 'agent' ? 'agent' : null;
  const m = /^services\/([a-z]+)\/dist\/main\.js$/.exec(String(command[1]));
  return m && (TOPOLOGY as readonly string[]).includes(m[1]!) ? (m[1] as Component) : null;
}

// ---- the files -------------------------------------------------------------

const COMPOSE = 'deploy/compose/docker-compose.yml';
const K8S_DIR = 'deploy/k8s';
const k8sFiles = () => walk(K8S_DIR).filter((p) => /\.ya?ml$/.test(p));

interface Container {
  where: string;
  kind: string;
  name: string;
  container: Obj;
  podSpec: Obj;
  labels: Obj;
  replicas: number;
}

function k8sObjects(): Array<Obj & { file: string }> {
  return k8sFiles()
    .filter((f) => !f.endsWith('kustomization.yaml'))
    .flatMap((file) =>
      parseYaml(file)
        .filter(Boolean)
        .map((o) => ({ ...o, file })),
    );
}

function k8sContainers(objects: Obj[]): Container[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .flatMap((o) => {
      const podSpec = o.spec.template.spec as Obj;
      return [...((podSpec.initContainers as Obj[]) ?? []), ...(podSpec.containers as Obj[])].map((c) => ({
        where: `${o.file} ${o.kind}/${o.metadata.name} container ${c.name}`,
        kind: o.kind as string,
        name: o.metadata.name as string,
        container: c,
        podSpec,
        labels: o.spec.template.metadata?.labels ?? {},
        replicas: (o.spec.replicas as number | undefined) ?? 1,
      }));
    });
}

/** A container's environment: ConfigMap keys it loads plus its own env. Secret refs map to '<secret>'. */
function containerEnv(c: Obj, configMaps: Map<string, Obj>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (c.envFrom as Obj[]) ?? []) {
    if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name as string) ?? {});
  }
  for (const e of (c.env as Obj[]) ?? []) env[e.name as string] = e.valueFrom ? '<secret>' : String(e.value);
  return env;
}

function composeServices(): Record<string, Obj> {
  const [doc] = parseYaml(COMPOSE);
  return doc!.services as Record<string, Obj>;
}
const composeEnv = (svc: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries((svc.environment as Obj) ?? {}).map(([k, v]) => [k, String(v)]));

function portOf(component: Component, env: Record<string, string>): number {
  return Number(component === 'edge' ? (env.BATON_EDGE_PORT ?? 8080) : (env.BATON_HTTP_PORT ?? 8080));
}

/** A gateway in production mode starts with TLS on, or with plaintext allowed explicitly. */
const gatewayStarts = (env: Record<string, string>) =>
  (!!env.BATON_GRPC_TLS_CERT && !!env.BATON_GRPC_TLS_KEY) || env.BATON_GRPC_ALLOW_PLAINTEXT === 'true';

const SERVICE_ENV: Record<string, string> = {
  BATON_MODE: 'production',
  BATON_KAFKA_BROKERS: 'kafka:9092',
  BATON_LOG_FORMAT: 'json',
};

// ---- the checks ------------------------------------------------------------

describe('deployment files', () => {
  it('parse as YAML', () => {
    for (const f of [COMPOSE, ...k8sFiles()]) expect(() => parseYaml(f), f).not.toThrow();
  });

  it('run a file the build produces in every container (services/<svc>/src/main.ts exists and is built)', () => {
    const problems: string[] = [];
    for (const [name, svc] of Object.entries(composeServices())) {
      if (svc.image === IMAGE) problems.push(...checkCommand(`compose service ${name}`, svc.command));
    }
    for (const c of k8sContainers(k8sObjects())) problems.push(...checkCommand(c.where, c.container.command));
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('use the image baton:<root package.json version> and pin every third-party image', () => {
    for (const [name, svc] of Object.entries(composeServices())) {
      if (svc.build) expect(svc.image, `compose ${name}`).toBe(IMAGE);
      expect(svc.image, `compose ${name}`).toMatch(/^(baton:|mysql:8\.0$|apache\/kafka:3\.9\.2$)/);
      if (String(svc.image).startsWith('baton:')) expect(svc.image, `compose ${name}`).toBe(IMAGE);
    }
    for (const c of k8sContainers(k8sObjects())) expect(c.container.image, c.where).toBe(IMAGE);
    expect(read('deploy/docker/Dockerfile')).toContain(`-t ${IMAGE} `);
  });

  it('use only BATON_* variables the code reads', () => {
    const known = knownEnvNames();
    const used = new Map<string, string>();
    for (const [name, svc] of Object.entries(composeServices())) {
      for (const k of Object.keys(composeEnv(svc))) used.set(k, `compose ${name}`);
    }
    for (const o of k8sObjects()) {
      if (o.kind === 'ConfigMap') for (const k of Object.keys(o.data ?? {})) used.set(k, o.file);
      if (o.kind === 'Secret') for (const k of Object.keys({ ...o.data, ...o.stringData })) used.set(k, o.file);
    }
    for (const c of k8sContainers(k8sObjects())) for (const e of c.container.env ?? []) used.set(e.name, c.where);
    for (const line of read('deploy/compose/.env.example').split('\n')) {
      const m = /^(BATON_[A-Z0-9_]+)=/.exec(line);
      if (m) used.set(m[1]!, 'deploy/compose/.env.example');
    }
    const unknown = [...used].filter(([k]) => k.startsWith('BATON_') && !known.has(k)).map(([k, w]) => `${k} (${w})`);
    expect(unknown, `not read by any Baton process: ${unknown.join(', ')}`).toEqual([]);
    expect(known.has('BATON_DATABASE_URL') && known.has('BATON_CATALOG_URL')).toBe(true);
  });

  it('commit no secret values', () => {
    for (const o of k8sObjects().filter((x) => x.kind === 'Secret')) {
      expect(o.file, 'the Secret is a template kept out of kustomization').toMatch(/\.example\.yaml$/);
      const values = [
        ...Object.values((o.stringData as Obj) ?? {}),
        ...Object.values((o.data as Obj) ?? {}).map((v) => Buffer.from(String(v), 'base64').toString('utf8')),
      ];
      for (const v of values) expect(String(v), `${o.file} ${o.metadata.name}`).toContain('REPLACE_ME');
    }
    for (const line of read('deploy/compose/.env.example').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) expect(m[2], `.env.example ${m[1]}`).toMatch(/^(change-me[a-z0-9-]*)?$/);
    }
    // In compose, every secret-looking value is interpolated from .env.
    for (const [name, svc] of Object.entries(composeServices())) {
      for (const [k, v] of Object.entries(composeEnv(svc))) {
        if (/PASSWORD|TOKEN|SECRET/.test(k))
          expect(v, `compose ${name} ${k}`).toMatch(/^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$/);
        if (k === 'BATON_DATABASE_URL')
          expect(v, `compose ${name} ${k}`).toMatch(/^mysql:\/\/baton:\$\{[A-Z0-9_]+[^}]*\}@/);
      }
    }
    for (const c of k8sContainers(k8sObjects())) {
      for (const e of c.container.env ?? []) {
        if (/PASSWORD|TOKEN|SECRET|DATABASE_URL/.test(e.name as string)) {
          expect(e.valueFrom?.secretKeyRef, `${c.where} ${e.name} comes from a Secret`).toBeDefined();
        }
      }
    }
  });

  describe('docker compose', () => {
    it('has every process of the topology, started by its own command', () => {
      const services = composeServices();
      const components = new Map<Component, string[]>();
      for (const [name, svc] of Object.entries(services)) {
        const c = componentOf(svc.command);
        if (c) components.set(c, [...(components.get(c) ?? []), name]);
      }
      for (const t of TOPOLOGY) expect(components.get(t), `compose runs ${t}`).toEqual([t]);
      expect(services.mysql?.image).toBe('mysql:8.0');
      expect(services.kafka?.image).toBe('apache/kafka:3.9.2');
      expect(services.trigger!.deploy?.replicas).toBe(2);
      expect(services.scheduler!.deploy?.replicas).toBe(2);
    });

    it('orders start-up: MySQL healthy, then migrate, then the services', () => {
      const services = composeServices();
      expect(services.migrate!.depends_on?.mysql?.condition).toBe('service_healthy');
      for (const s of SERVICES) {
        expect(services[s]!.depends_on?.migrate?.condition, s).toBe('service_completed_successfully');
        expect(services[s]!.depends_on?.kafka?.condition, s).toBe('service_healthy');
      }
      expect(services.mysql!.healthcheck).toBeDefined();
      expect(services.kafka!.healthcheck).toBeDefined();
    });

    it('gives the services their environment and the edge its upstreams', () => {
      const services = composeServices();
      for (const s of [...SERVICES, 'migrate']) {
        const env = composeEnv(services[s]!);
        expect(env, s).toMatchObject(SERVICE_ENV);
        expect(env.BATON_DATABASE_URL, s).toMatch(/^mysql:\/\/baton:.+@mysql:3306\/baton$/);
      }
      expect(composeEnv(services.tenancy!).BATON_BOOTSTRAP_TOKEN).toBeDefined();
      expect(gatewayStarts(composeEnv(services.scheduler!)), 'scheduler: TLS or BATON_GRPC_ALLOW_PLAINTEXT').toBe(true);
      expect(composeEnv(services.agent!).BATON_AGENT_TOKEN).toBeDefined();
      expect(services.agent!.command).toEqual(expect.arrayContaining(['--server', 'scheduler:7070']));
      const edge = composeEnv(services.edge!);
      for (const s of edgeServiceNames()) {
        const port = portOf(s as Component, composeEnv(services[s] ?? {}));
        expect(edge[upstreamEnv(s)], `edge ${upstreamEnv(s)}`).toBe(`http://${s}:${port}`);
      }
      expect(services.edge!.ports).toContain(`${edge.BATON_EDGE_PORT}:${edge.BATON_EDGE_PORT}`);
      expect(services.scheduler!.ports.some((p: string) => /:7070$/.test(p))).toBe(true);
    });

    it('health-checks each HTTP process on a path its code serves, at the port it listens on', () => {
      const served = servedHealthPaths(['services', 'libs']);
      const edgeServed = servedHealthPaths(['services/edge/src']);
      const services = composeServices();
      for (const name of [...SERVICES, 'edge'] as const) {
        const test = (services[name]!.healthcheck?.test ?? []).join(' ');
        const m = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(test);
        expect(m, `compose ${name} healthcheck calls http://127.0.0.1:<port>/<path>`).not.toBeNull();
        expect(Number(m![1]), `compose ${name} healthcheck port`).toBe(portOf(name, composeEnv(services[name]!)));
        expect(name === 'edge' ? edgeServed : served, `compose ${name} probes ${m![2]}`).toContain(m![2]);
        if (name !== 'edge') expect(m![2], `compose ${name} checks readiness`).toBe('/readyz');
      }
    });
  });

  describe('kubernetes', () => {
    it('lists every manifest but the Secret template in kustomization.yaml', () => {
      const [k] = parseYaml(`${K8S_DIR}/kustomization.yaml`);
      const listed = (k!.resources as string[]).map((r) => `${K8S_DIR}/${r}`).sort();
      const files = k8sFiles()
        .filter((f) => !/kustomization\.yaml$|\.example\.yaml$/.test(f))
        .map((f) => relative(root, join(root, f)))
        .sort();
      expect(listed).toEqual(files);
    });

    it('has a workload for every process of the topology', () => {
      const containers = k8sContainers(k8sObjects());
      for (const t of TOPOLOGY) {
        const found = containers.filter((c) => componentOf(c.container.command) === t);
        expect(found.length, `k8s runs ${t}`).toBeGreaterThan(0);
        if (t === 'migrate') expect(found.some((c) => c.kind === 'Job')).toBe(true);
        else
          expect(
            found.map((c) => `${c.kind}/${c.name}`),
            t,
          ).toEqual([`Deployment/${t}`]);
      }
      const replicas = (n: string) => containers.find((c) => c.name === n)!.replicas;
      expect(replicas('scheduler')).toBe(2);
      expect(replicas('trigger')).toBe(2);
    });

    it('runs every container as non-root with resource requests and limits', () => {
      for (const c of k8sContainers(k8sObjects())) {
        expect(c.podSpec.securityContext?.runAsNonRoot, c.where).toBe(true);
        expect(c.podSpec.securityContext?.runAsUser, c.where).toBeGreaterThan(0);
        expect(c.container.securityContext?.allowPrivilegeEscalation, c.where).toBe(false);
        for (const r of ['requests', 'limits']) {
          expect(c.container.resources?.[r]?.cpu, `${c.where} ${r}.cpu`).toBeDefined();
          expect(c.container.resources?.[r]?.memory, `${c.where} ${r}.memory`).toBeDefined();
        }
      }
      expect(read('deploy/docker/Dockerfile')).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    });

    it('gives the processes their environment, secrets from the Secret', () => {
      const objects = k8sObjects();
      const configMaps = new Map(
        objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o.data as Obj]),
      );
      const secretKeys = new Set(
        objects.filter((o) => o.kind === 'Secret').flatMap((o) => Object.keys({ ...o.data, ...o.stringData })),
      );
      for (const c of k8sContainers(objects)) {
        const component = componentOf(c.container.command)!;
        const env = containerEnv(c.container, configMaps);
        if ((SERVICES as readonly string[]).includes(component) || component === 'migrate') {
          expect(env, c.where).toMatchObject({ ...SERVICE_ENV, BATON_DATABASE_URL: '<secret>' });
        }
        if (component === 'tenancy') expect(env.BATON_BOOTSTRAP_TOKEN, c.where).toBe('<secret>');
        if (component === 'scheduler') expect(gatewayStarts(env), `${c.where}: TLS or plaintext allowed`).toBe(true);
        if (component === 'agent') {
          expect(env.BATON_AGENT_TOKEN, c.where).toBe('<secret>');
          expect(c.container.command, c.where).toEqual(expect.arrayContaining(['--server', 'scheduler:7070']));
        }
        for (const e of c.container.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(secretKeys, `${c.where} ${e.name}: key ${ref.key} in the Secret template`).toContain(ref.key);
        }
      }
    });

    it('probes liveness on /healthz and readiness on /readyz, paths the code serves, on the port it listens on', () => {
      const objects = k8sObjects();
      const configMaps = new Map(
        objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o.data as Obj]),
      );
      const served = servedHealthPaths(['services', 'libs']);
      const edgeServed = servedHealthPaths(['services/edge/src']);
      for (const c of k8sContainers(objects).filter((x) => x.kind === 'Deployment')) {
        const component = componentOf(c.container.command)!;
        if (component === 'agent') continue; // no HTTP server
        const http = (c.container.ports as Obj[]).find((p) => p.name === 'http');
        expect(http?.containerPort, `${c.where} http port`).toBe(
          portOf(component, containerEnv(c.container, configMaps)),
        );
        for (const [probe, path] of [
          ['livenessProbe', '/healthz'],
          ['readinessProbe', '/readyz'],
        ] as const) {
          const get = c.container[probe]?.httpGet;
          expect(get?.path, `${c.where} ${probe}`).toBe(path);
          expect(get?.port, `${c.where} ${probe} port`).toBe('http');
          expect(component === 'edge' ? edgeServed : served, `${c.where} ${probe}: the code serves ${path}`).toContain(
            path,
          );
        }
      }
    });

    it('exposes each HTTP process through a Service matching its pods, scheduler with http and grpc', () => {
      const objects = k8sObjects();
      const services = objects.filter((o) => o.kind === 'Service');
      const containers = k8sContainers(objects);
      for (const name of [...SERVICES, 'edge']) {
        const svc = services.find((s) => s.metadata.name === name);
        expect(svc, `Service ${name}`).toBeDefined();
        const pods = containers.find((c) => c.name === name)!;
        expect(pods.labels, `Service ${name} selects its pods`).toMatchObject(svc!.spec.selector);
        for (const p of svc!.spec.ports as Obj[]) {
          expect(
            (pods.container.ports as Obj[]).map((x) => x.name),
            `Service ${name} port ${p.name}`,
          ).toContain(p.targetPort);
        }
      }
      const scheduler = services.find((s) => s.metadata.name === 'scheduler')!;
      expect((scheduler.spec.ports as Obj[]).map((p) => [p.name, p.port])).toEqual([
        ['http', 8080],
        ['grpc', 7070],
      ]);
      const ingress = objects.find((o) => o.kind === 'Ingress')!;
      const backend = ingress.spec.rules[0].http.paths[0].backend.service;
      expect(backend.name).toBe('edge');
    });

    it("points the edge's upstream variables at the Services of the routes' services", () => {
      const objects = k8sObjects();
      const configMaps = new Map(
        objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o.data as Obj]),
      );
      const edge = k8sContainers(objects).find((c) => c.name === 'edge')!;
      const env = containerEnv(edge.container, configMaps);
      const services = objects.filter((o) => o.kind === 'Service');
      for (const s of edgeServiceNames()) {
        const svc = services.find((x) => x.metadata.name === s);
        const port = (svc?.spec.ports as Obj[] | undefined)?.find((p) => p.name === 'http')?.port;
        expect(env[upstreamEnv(s)], `edge ${upstreamEnv(s)}`).toBe(`http://${s}:${port}`);
      }
    });
  });

  describe('the edge', () => {
    it("routes to exactly the topology's HTTP services, each with an upstream variable", () => {
      expect([...edgeServiceNames()].sort()).toEqual([...SERVICES].sort());
      const config = read('services/edge/src/edge.config.ts');
      for (const s of SERVICES) expect(config, `UPSTREAM_ENV.${s}`).toContain(`${s}: '${upstreamEnv(s)}'`);
      expect(new Set(edgeRoutes().map((r) => r.service))).toEqual(new Set(SERVICES));
    });

    it('has its routing table in docs/deployment.md, in order', () => {
      const doc = read('docs/deployment.md');
      const rows = [...doc.matchAll(/^\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|\s*([a-z]+)\s*\|/gm)].map((m) => ({
        pattern: m[2]!,
        service: m[3]!,
      }));
      expect(rows).toEqual(edgeRoutes());
    });
  });
});
