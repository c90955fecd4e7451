import { VENDOR_ELEMENTS } from '../vendors';
import { IANA_ELEMENTS } from './iana';

/** How a field's bytes become a value; numbers so the record loop switches on a small integer. */
export enum Kind {
  Uint = 0,
  Int = 1,
  Float = 2,
  Bool = 3,
  Mac = 4,
  Octets = 5,
  String = 6,
  Ip4 = 7,
  Ip6 = 8,
  TimeSec = 9,
  TimeMs = 10,
  TimeUs = 11,
  TimeNs = 12,
  /** Type unknown: unsigned when fixed and at most 8 bytes, text when printable, hex otherwise. */
  Auto = 13,
  /** Cisco ASA ACL ids: 12 bytes shown as three dash-separated 32-bit hex groups. */
  Acl = 14,
  /** Zero-length field (allowed in v9 templates): occupies no bytes, yields no value. */
  Skip = 15,
}

export interface ElementInfo {
  name: string;
  kind: Kind;
}

const TYPE_KIND: Record<string, Kind> = {
  u8: Kind.Uint,
  u16: Kind.Uint,
  u32: Kind.Uint,
  u64: Kind.Uint,
  s8: Kind.Int,
  s16: Kind.Int,
  s32: Kind.Int,
  s64: Kind.Int,
  f32: Kind.Float,
  f64: Kind.Float,
  bool: Kind.Bool,
  mac: Kind.Mac,
  oct: Kind.Octets,
  list: Kind.Octets,
  str: Kind.String,
  ip4: Kind.Ip4,
  ip6: Kind.Ip6,
  ts: Kind.TimeSec,
  tms: Kind.TimeMs,
  tus: Kind.TimeUs,
  tns: Kind.TimeNs,
  acl: Kind.Acl,
};

function parseTable(text: string): Map<string, ElementInfo & { typeName: string }> {
  const out = new Map<string, ElementInfo & { typeName: string }>();
  for (const line of text.split('\n')) {
    const [key, name, type] = line.trim().split(/\s+/);
    if (!key || !name || !type) continue;
    const kind = TYPE_KIND[type];
    if (kind === undefined) throw new Error(`flow element table: unknown type ${type} for ${key}`);
    out.set(key, { name, kind, typeName: type });
  }
  return out;
}

const IANA = parseTable(IANA_ELEMENTS);
const VENDOR = parseTable(VENDOR_ELEMENTS);

const IANA_BY_ID: Array<ElementInfo | undefined> = [];
for (const [id, info] of IANA) IANA_BY_ID[Number(id)] = { name: info.name, kind: info.kind };

/** RFC 5103 reverse-direction elements: same id and type as the forward IANA element. */
export const PEN_REVERSE = 29305;

/** v9 options-template scope types (RFC 3954 §6.1); they overlap IANA ids 1-5, so they get their own names. */
const V9_SCOPES = ['', 'scopeSystem', 'scopeInterface', 'scopeLineCard', 'scopeCache', 'scopeTemplate'];

export function ianaElement(id: number): ElementInfo | undefined {
  return IANA_BY_ID[id];
}

/** IANA id → name, for documentation and for callers that want to map names back. */
export function ianaElementId(name: string): number | undefined {
  for (let i = 0; i < IANA_BY_ID.length; i++) if (IANA_BY_ID[i]?.name === name) return i;
  return undefined;
}

/** The vendor name of an element key such as `"5951/130"` or `"v9/40001"`, if we know it. */
export function vendorElementName(key: string): string | undefined {
  return VENDOR.get(key)?.name;
}

/**
 * Name and decoding of one template field. The name is the record key: IANA name, `"<pen>/<id>"` for
 * enterprise elements, `"v9/<id>"` for v9 vendor types, `"<id>"` for IANA ids this table lacks.
 */
export function resolveElement(version: 9 | 10, pen: number, id: number, scope: boolean): ElementInfo {
  if (version === 9) {
    if (scope) return { name: V9_SCOPES[id] ?? `scope${id}`, kind: Kind.Auto };
    if (id >= 32768) {
      const key = `v9/${id}`;
      return { name: key, kind: VENDOR.get(key)?.kind ?? Kind.Auto };
    }
  }
  if (pen === 0) {
    const info = IANA_BY_ID[id];
    return info ?? { name: String(id), kind: Kind.Auto };
  }
  const key = `${pen}/${id}`;
  const vendor = VENDOR.get(key);
  if (vendor) return { name: key, kind: vendor.kind };
  if (pen === PEN_REVERSE) return { name: key, kind: IANA_BY_ID[id]?.kind ?? Kind.Auto };
  return { name: key, kind: Kind.Auto };
}
