import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseSyslog } from './parse';
import { isValidTimeZone } from './time';
import { type ParseContext } from './types';

/**
 * Scores parser output against Elastic's pipeline-test expectations (`elastic/` in the syslog corpus) on the
 * ECS core fields of issue 4. Only values Elastic's document holds are scored (recall): a field we add that
 * Elastic does not is not a miss, since ECS documents are open-ended. Test helper; not exported by the lib.
 */

/** Core field prefixes; a leaf counts when its path equals or sits under one of them. */
export const CORE_FIELDS = [
  '@timestamp',
  'event.kind',
  'event.category',
  'event.type',
  'event.action',
  'event.outcome',
  'event.code',
  'event.severity',
  'observer.vendor',
  'observer.product',
  'observer.type',
  'host.hostname',
  'source',
  'destination',
  'network.transport',
  'network.direction',
  'user.name',
  'process.name',
  'process.pid',
  'related.ip',
  'related.user',
  'related.hosts',
  'log.syslog',
  'message',
  'event.original',
] as const;

/** GeoIP and ASN come from enrichment databases, not from parsing the line. */
const NOT_PARSED = /^(source|destination)(\.nat)?\.(geo|as)\./;

export interface ManifestFile {
  file: string;
  package: string;
  expected: string | null;
  config: string | null;
  common_config: string | null;
}

export interface Miss {
  file: string;
  line: number;
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface PackageScore {
  package: string;
  docs: number;
  matched: number;
  total: number;
  misses: Miss[];
}

function isCore(p: string): boolean {
  if (NOT_PARSED.test(p)) return false;
  for (const c of CORE_FIELDS) {
    if (p === c || (p.startsWith(c) && p.charCodeAt(c.length) === 0x2e)) return true;
  }
  return false;
}

/** Leaves of a document by dotted path; arrays are leaves. Flat dotted keys are expanded the same way. */
export function leaves(
  doc: unknown,
  prefix = '',
  out: Map<string, unknown> = new Map(),
): Map<string, unknown> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    out.set(prefix, doc);
    return out;
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
  return out;
}

function sameValue(field: string, want: unknown, got: unknown, yearFree: boolean): boolean {
  if (field === '@timestamp') {
    if (typeof want !== 'string' || typeof got !== 'string') return false;
    const a = new Date(want);
    const b = new Date(got);
    if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return false;
    return yearFree ? a.toISOString().slice(4) === b.toISOString().slice(4) : a.getTime() === b.getTime();
  }
  if (Array.isArray(want)) {
    // ECS arrays here are sets (related.*, event.type); the pipelines' order is an implementation detail.
    if (!Array.isArray(got) || got.length !== want.length) return false;
    const g = got.map((x) => JSON.stringify(x)).sort();
    return want
      .map((x) => JSON.stringify(x))
      .sort()
      .every((x, i) => x === g[i]);
  }
  return want === got;
}

interface TestConfig {
  fields?: Record<string, unknown>;
  dynamic_fields?: Record<string, string>;
}

function readConfig(dir: string, rel: string | null): TestConfig {
  if (rel === null) return {};
  const p = path.join(dir, rel);
  if (!fs.existsSync(p)) return {};
  // Upstream configs are not always indented consistently (one nests everything two spaces deep).
  const parsed = parseYaml(fs.readFileSync(p, 'utf8').replace(/@timestamp:/g, '"@timestamp":')) as unknown;
  return parsed !== null && typeof parsed === 'object' ? parsed : {};
}

/** `-0600`, `+00:00`, `GMT-0200`, `UTC` → an IANA zone the parser accepts; undefined when unusable. */
export function zoneFromConfig(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (isValidTimeZone(v)) return v;
  const m = /^(?:GMT|UTC)?([+-])(\d{2}):?(\d{2})$/.exec(v);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  if (m[3] !== '00' || hours > 14) return undefined;
  if (hours === 0) return 'UTC';
  // Etc/GMT zones have inverted signs (POSIX): UTC-6 is Etc/GMT+6.
  return `Etc/GMT${m[1] === '-' ? '+' : '-'}${hours}`;
}

function get(cfg: TestConfig, dotted: string): unknown {
  const f = cfg.fields;
  if (f === undefined) return undefined;
  if (dotted in f) return f[dotted];
  return leaves(f).get(dotted);
}

const DEFAULT_RECEIVED = '2026-11-27T12:00:00.000Z';

export function scoreElastic(elasticDir: string): PackageScore[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(elasticDir, 'manifest.json'), 'utf8')) as {
    files: ManifestFile[];
  };
  const byPackage = new Map<string, PackageScore>();
  for (const mf of manifest.files) {
    if (mf.expected === null) continue;
    const common = readConfig(elasticDir, mf.common_config);
    const own = readConfig(elasticDir, mf.config);
    const merged: TestConfig = {
      fields: { ...leavesObj(common.fields), ...leavesObj(own.fields) },
      dynamic_fields: { ...common.dynamic_fields, ...own.dynamic_fields },
    };
    // Elastic's `tz_offset: Local` defers to the zone Agent's add_locale put in event.timezone.
    const timezone =
      zoneFromConfig(get(merged, '_conf.tz_offset')) ??
      zoneFromConfig(get(merged, 'event.timezone')) ??
      'UTC';
    const ts = get(merged, '@timestamp');
    const receivedAt = new Date(typeof ts === 'string' ? ts : DEFAULT_RECEIVED);
    const yearFree = merged.dynamic_fields !== undefined && '@timestamp' in merged.dynamic_fields;
    const expected = (
      JSON.parse(fs.readFileSync(path.join(elasticDir, mf.expected), 'utf8')) as { expected: unknown[] }
    ).expected;
    const text = fs.readFileSync(path.join(elasticDir, mf.file), 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const score = byPackage.get(mf.package) ?? {
      package: mf.package,
      docs: 0,
      matched: 0,
      total: 0,
      misses: [],
    };
    byPackage.set(mf.package, score);
    lines.forEach((line, i) => {
      const ctx: ParseContext = {
        senderIp: '192.0.2.1',
        receivedAt,
        eventId: `${mf.file}:${i + 1}`,
        inputName: 'conformance',
        transport: 'udp',
        timezone,
      };
      const r = parseSyslog(Buffer.from(line, 'utf8'), ctx);
      const got = r.ok ? leaves(r.event) : new Map<string, unknown>();
      score.docs++;
      for (const [field, want] of leaves(expected[i])) {
        if (!isCore(field)) continue;
        score.total++;
        const actual = got.get(field);
        if (sameValue(field, want, actual, yearFree)) score.matched++;
        else score.misses.push({ file: mf.file, line: i + 1, field, expected: want, actual });
      }
    });
  }
  return [...byPackage.values()].sort((a, b) => a.package.localeCompare(b.package));
}

function leavesObj(v: Record<string, unknown> | undefined): Record<string, unknown> {
  return v === undefined ? {} : Object.fromEntries(leaves(v));
}
