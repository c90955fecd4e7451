import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { type StixObject } from './types';

const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';
const DIRS = ['common', 'sdos', 'sros', 'observables'] as const;

export interface StixValidationResult {
  valid: boolean;
  /** Which schema was used (`sdos/incident.json`), or undefined if the type has none. */
  schema?: string;
  errors: string[];
}

function repoRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(dir) !== 'dist') return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** `$CITYSOC_CORPUS_DIR/stix/schemas`, else `<repo>/../shared/corpus/stix/schemas`; undefined if absent. */
export function defaultSchemaDir(): string | undefined {
  const root = repoRoot();
  const corpus =
    process.env['CITYSOC_CORPUS_DIR'] ?? (root ? path.resolve(root, '..', 'shared', 'corpus') : undefined);
  if (!corpus) return undefined;
  const dir = path.join(corpus, 'stix', 'schemas');
  return existsSync(path.join(dir, 'common', 'core.json')) ? dir : undefined;
}

/**
 * Per-type validation against the OASIS STIX 2.1 JSON schemas. The bundle schema there omits some 2.1 types
 * (incident, grouping, location, note, opinion), so each object is checked against its own type's schema.
 */
export class StixValidator {
  private readonly byType = new Map<string, { file: string; fn: ValidateFunction }>();

  constructor(schemaDir: string) {
    // strict: false and unicodeRegExp: false because the OASIS schemas use `definitions` and `\-` in patterns.
    const ajv = new Ajv2020({ strict: false, unicodeRegExp: false, allErrors: true });
    addFormats(ajv);
    // The IDN formats are not in ajv-formats; STIX accepts any hostname/e-mail that the core formats accept.
    ajv.addFormat('idn-hostname', true);
    ajv.addFormat('idn-email', true);
    const files: string[] = [];
    for (const d of DIRS) {
      const dir = path.join(schemaDir, d);
      for (const f of readdirSync(dir)
        .filter((x) => x.endsWith('.json'))
        .sort()) {
        const schema = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
        ajv.addSchema(schema);
        files.push(`${d}/${f}`);
      }
    }
    for (const file of files) {
      const [dir, name] = file.split('/') as [string, string];
      const type = name.replace(/\.json$/, '');
      const schemaType =
        dir === 'common'
          ? ['marking-definition', 'extension-definition', 'language-content', 'bundle'].includes(type)
            ? type
            : undefined
          : type;
      if (!schemaType) continue;
      const fn = ajv.getSchema(`${SCHEMA_BASE}${file}`);
      if (!fn) throw new Error(`schema ${file} did not compile`);
      this.byType.set(schemaType, { file, fn });
    }
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  validate(obj: unknown): StixValidationResult {
    const type = obj !== null && typeof obj === 'object' ? (obj as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') return { valid: false, errors: ['object has no string "type"'] };
    const entry = this.byType.get(type);
    if (!entry) return { valid: false, errors: [`no STIX 2.1 schema for type "${type}"`] };
    const ok = entry.fn(obj);
    return { valid: ok, schema: entry.file, errors: ok ? [] : formatErrors(entry.fn.errors ?? []) };
  }

  /** Every object of a bundle, each against its own schema; keyed by object id. */
  validateBundle(bundle: { objects?: readonly StixObject[] }): Array<StixValidationResult & { id: string }> {
    return (bundle.objects ?? []).map((o) => ({ id: String(o.id), ...this.validate(o) }));
  }
}

function formatErrors(errors: readonly ErrorObject[]): string[] {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

let shared: StixValidator | undefined;

/** Validates one object with the default schema directory; throws if the schemas are not available. */
export function validateStixObject(obj: unknown): StixValidationResult {
  if (!shared) {
    const dir = defaultSchemaDir();
    if (!dir) throw new Error('STIX schemas not found: set CITYSOC_CORPUS_DIR');
    shared = new StixValidator(dir);
  }
  return shared.validate(obj);
}
