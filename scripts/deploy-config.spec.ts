import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parseAllDocuments, parseDocument } from 'yaml';

/**
 * deploy/ validated without an engine: structure (a JSON schema for the Compose subset we use, written
 * here — the Compose specification's own schema is not vendored), cross-references (secrets, volumes,
 * depends_on), the durability settings the chaos suite relies on, and secrets never inlined.
 */
const root = path.join(__dirname, '..');
const deploy = path.join(root, 'deploy');
const envExample = readFileSync(path.join(root, '.env.example'), 'utf8');
const knownVars = new Set([...envExample.matchAll(/^#? ?(CITYSOC_[A-Z0-9_]+)=/gm)].map((m) => m[1]!));
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|CREDS$/;

const composeSchema = {
  type: 'object',
  required: ['services'],
  additionalProperties: false,
  patternProperties: { '^x-': {} },
  properties: {
    name: { type: 'string' },
    services: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        anyOf: [{ required: ['image'] }, { required: ['build'] }],
        additionalProperties: false,
        properties: {
          image: { type: 'string' },
          build: { type: 'object', required: ['context'] },
          hostname: { type: 'string' },
          restart: { enum: ['no', 'always', 'on-failure', 'unless-stopped'] },
          command: { type: 'array', items: { type: 'string' } },
          env_file: { type: 'array', items: { type: 'string' } },
          environment: { type: 'object', additionalProperties: { type: 'string' } },
          secrets: { type: 'array', items: { type: 'string' } },
          volumes: { type: 'array', items: { type: 'string', pattern: '^[^:]+:[^:]+(:ro)?$' } },
          ports: { type: 'array', items: { type: 'string', pattern: '^\\d+:\\d+(/(tcp|udp))?$' } },
          depends_on: {
            anyOf: [
              { type: 'array', items: { type: 'string' } },
              {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  properties: { condition: { enum: ['service_started', 'service_healthy'] } },
                },
              },
            ],
          },
          healthcheck: {
            type: 'object',
            required: ['test'],
            properties: { test: { type: 'array', minItems: 2 } },
          },
          deploy: {
            type: 'object',
            properties: { replicas: { type: 'integer', minimum: 1 } },
          },
        },
      },
    },
    secrets: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['file'],
        additionalProperties: false,
        properties: { file: { type: 'string', pattern: '^\\./secrets/' } },
      },
    },
    volumes: { type: 'object' },
  },
};

type Service = {
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  command?: string[];
  deploy?: { replicas?: number };
};

describe('deploy/compose', () => {
  const text = readFileSync(path.join(deploy, 'compose', 'compose.yml'), 'utf8');
  const doc = parseDocument(text, { merge: true });
  const compose = doc.toJS({ maxAliasCount: 1000 }) as {
    services: Record<string, Service>;
    secrets: Record<string, { file: string }>;
    volumes: Record<string, unknown>;
  };

  it('parses and matches the structural schema', () => {
    expect(doc.errors).toEqual([]);
    const validate = new Ajv({ allErrors: true }).compile(composeSchema);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
  });

  it('references only declared secrets, volumes and services', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(compose.services)) {
      for (const sec of s.secrets ?? []) if (!compose.secrets[sec]) problems.push(`${name}: secret ${sec}`);
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.') && !(src in compose.volumes)) problems.push(`${name}: volume ${src}`);
        if (
          src.startsWith('./config/') &&
          !readdirSync(path.join(deploy, 'compose', 'config')).includes(src.slice(9))
        )
          problems.push(`${name}: missing file ${src}`);
      }
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) if (!compose.services[d]) problems.push(`${name}: depends on ${d}`);
    }
    expect(problems).toEqual([]);
  });

  it('runs a 3-node NATS cluster, Redis with a replica and 3 Sentinels, and scaled apps on R3 streams', () => {
    const names = Object.keys(compose.services);
    expect(names.filter((n) => n.startsWith('nats-'))).toHaveLength(3);
    expect(names.filter((n) => n.startsWith('sentinel-'))).toHaveLength(3);
    expect(names.filter((n) => n.startsWith('redis-'))).toHaveLength(2);
    expect(compose.services.collector?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services.detector?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services.detector?.environment?.CITYSOC_NATS_REPLICAS).toBe('3');
    const redisConf = readFileSync(path.join(deploy, 'compose', 'config', 'redis.conf'), 'utf8');
    expect(redisConf).toMatch(/^appendonly yes$/m);
    expect(redisConf).toMatch(/^appendfsync everysec$/m);
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
    const natsConf = readFileSync(path.join(deploy, 'compose', 'config', 'nats.conf'), 'utf8');
    for (const n of ['nats-1', 'nats-2', 'nats-3']) expect(natsConf).toContain(`nats-route://${n}:6222`);
    expect(natsConf).toMatch(/tls \{/);
    expect(natsConf).toMatch(/nkey: \$NATS_APP_NKEY/);
  });

  it('uses TLS URLs, known variables only, and no inline secret', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(compose.services))
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (k.startsWith('CITYSOC_') && !knownVars.has(k)) problems.push(`${name}: unknown ${k}`);
        if (SECRET_NAME.test(k) && !k.endsWith('_FILE')) problems.push(`${name}: inline secret ${k}`);
        if (/_URL$/.test(k) && /^(nats|redis|http):\/\//.test(v)) problems.push(`${name}: plain-text ${k}`);
        if (/_URL$/.test(k) && /\/\/[^/]*:[^/]*@/.test(v)) problems.push(`${name}: password in ${k}`);
      }
    expect(problems).toEqual([]);
  });
});

describe('deploy/k8s', () => {
  const dir = path.join(deploy, 'k8s');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => ({ file: f, doc: d })),
  );
  const objects = docs.map(({ file, doc }) => ({ file, obj: doc.toJS() as Record<string, any> })); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('parses every document', () => {
    expect(docs.flatMap(({ file, doc }) => doc.errors.map((e) => `${file}: ${e.message}`))).toEqual([]);
  });

  it('uses the official NATS chart and the ECK operator, not hand-made clusters', () => {
    const kust = objects.find((o) => o.file === 'kustomization.yaml')!.obj;
    const charts = (kust.helmCharts as Array<{ name: string; repo: string; valuesFile: string }>) ?? [];
    expect(charts.find((c) => c.name === 'nats')?.repo).toBe('https://nats-io.github.io/k8s/helm/charts/');
    for (const c of charts) expect(files).toContain(c.valuesFile);
    for (const r of kust.resources as string[]) expect(files).toContain(r);
    const es = objects.find((o) => o.obj.kind === 'Elasticsearch')!.obj;
    expect(es.apiVersion).toBe('elasticsearch.k8s.elastic.co/v1');
    expect(objects.some((o) => o.obj.kind === 'StatefulSet')).toBe(false);
    const nats = objects.find((o) => o.file === 'nats-values.yaml')!.obj;
    expect(nats.config.cluster).toMatchObject({ enabled: true, replicas: 3, tls: { enabled: true } });
    expect(nats.config.jetstream.enabled).toBe(true);
    const redis = objects.find((o) => o.file === 'redis-values.yaml')!.obj;
    expect(redis.sentinel.enabled).toBe(true);
    expect(redis.tls.enabled).toBe(true);
    expect(redis.commonConfiguration).toMatch(/appendonly yes/);
  });

  it('gives every app probes, resources, known settings and secrets only by reference', () => {
    const config = objects.find((o) => o.obj.kind === 'ConfigMap')!.obj.data as Record<string, string>;
    const problems: string[] = [];
    for (const k of Object.keys(config)) {
      if (!knownVars.has(k)) problems.push(`configmap: unknown ${k}`);
      if (SECRET_NAME.test(k) && !k.endsWith('_FILE')) problems.push(`configmap: inline secret ${k}`);
    }
    const deployments = objects.filter((o) => o.obj.kind === 'Deployment').map((o) => o.obj);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      ['api', 'collector', 'detector', 'indexer', 'reporter', 'responder'].map((n) => `citysoc-${n}`),
    );
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      const name = d.metadata.name as string;
      if (!c.readinessProbe || !c.livenessProbe) problems.push(`${name}: probes`);
      if (!c.resources?.requests) problems.push(`${name}: resources`);
      for (const e of c.env ?? []) {
        if (!knownVars.has(e.name)) problems.push(`${name}: unknown ${e.name}`);
        if (SECRET_NAME.test(e.name) && !e.name.endsWith('_FILE') && !e.valueFrom?.secretKeyRef)
          problems.push(`${name}: inline secret ${e.name}`);
      }
      const volumes = new Set((d.spec.template.spec.volumes ?? []).map((v: { name: string }) => v.name));
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) problems.push(`${name}: mount ${m.name}`);
    }
    expect(problems).toEqual([]);
    expect(
      deployments.find((d) => d.metadata.name === 'citysoc-detector')?.spec.replicas,
    ).toBeGreaterThanOrEqual(2);
  });
});

describe('deploy/systemd', () => {
  it('restarts every app and reads its settings from the environment file', () => {
    const dir = path.join(deploy, 'systemd');
    const units = readdirSync(dir).filter((f) => f.endsWith('.service'));
    expect(units.length).toBeGreaterThanOrEqual(6);
    for (const u of units) {
      const text = readFileSync(path.join(dir, u), 'utf8');
      expect(text).toMatch(/^Restart=always$/m);
      expect(text).toMatch(/^EnvironmentFile=/m);
      expect(text).not.toMatch(/PASSWORD=|TOKEN=|SECRET=/);
    }
  });
});
