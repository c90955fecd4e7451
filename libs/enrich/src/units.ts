import { parseDocument } from 'yaml';
import { type Cidr, type Family, mask, parseCidr, parseIp } from './ip';

export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** What an event carries about the unit that owns an address. */
export interface UnitRef {
  id: string;
  name: string;
  /** Unit ids from the city down to this unit. */
  path: string[];
  criticality: Criticality;
}

interface UnitDef {
  id: string;
  name: string;
  parent?: string;
  criticality?: Criticality;
  cidrs: string[];
}

export interface RegistryError {
  file: string;
  message: string;
}

/**
 * The unit registry: which city unit (city → department or district → ward or commune) owns an address.
 * Longest prefix wins, so a ward's /24 inside its district's /16 attributes to the ward. Lookup is one map
 * probe per distinct prefix length, whatever the number of units.
 */
export class UnitRegistry {
  private readonly byFamily: Record<Family, Array<{ prefix: number; nets: Map<bigint, UnitRef> }>> = {
    4: [],
    6: [],
  };
  readonly size: number;

  private constructor(units: Map<string, UnitRef>, cidrs: Array<{ cidr: Cidr; unit: UnitRef }>) {
    this.size = units.size;
    for (const { cidr, unit } of cidrs) {
      const list = this.byFamily[cidr.family];
      let slot = list.find((s) => s.prefix === cidr.prefix);
      if (!slot) {
        slot = { prefix: cidr.prefix, nets: new Map() };
        list.push(slot);
        list.sort((a, b) => b.prefix - a.prefix);
      }
      slot.nets.set(cidr.network, unit);
    }
  }

  static empty(): UnitRegistry {
    return new UnitRegistry(new Map(), []);
  }

  /** Parses the YAML; every problem is collected, and a registry is built from what is valid. */
  static fromYaml(text: string, file: string): { registry: UnitRegistry; errors: RegistryError[] } {
    const errors: RegistryError[] = [];
    const doc = parseDocument(text);
    for (const e of doc.errors) errors.push({ file, message: e.message });
    const raw = (doc.toJS() as { units?: unknown } | null)?.units;
    if (!Array.isArray(raw))
      return {
        registry: UnitRegistry.empty(),
        errors: [...errors, { file, message: 'expected a top-level `units:` list' }],
      };
    const defs = new Map<string, UnitDef>();
    raw.forEach((u: unknown, i) => {
      const d = u as Partial<UnitDef> & { cidrs?: unknown };
      if (!d || typeof d.id !== 'string' || typeof d.name !== 'string') {
        errors.push({ file, message: `units[${i}]: id and name are required strings` });
        return;
      }
      if (defs.has(d.id)) errors.push({ file, message: `units[${i}]: duplicate id ${d.id}` });
      if (d.criticality !== undefined && !CRITICALITIES.includes(d.criticality))
        errors.push({
          file,
          message: `units[${i}] (${d.id}): criticality must be one of ${CRITICALITIES.join(', ')}`,
        });
      const cidrs = Array.isArray(d.cidrs) ? d.cidrs.filter((c): c is string => typeof c === 'string') : [];
      defs.set(d.id, {
        id: d.id,
        name: d.name,
        ...(d.parent ? { parent: d.parent } : {}),
        ...(d.criticality && CRITICALITIES.includes(d.criticality) ? { criticality: d.criticality } : {}),
        cidrs,
      });
    });
    const refs = new Map<string, UnitRef>();
    const resolve = (id: string, seen: Set<string>): UnitRef | undefined => {
      const done = refs.get(id);
      if (done) return done;
      const d = defs.get(id);
      if (!d) return undefined;
      if (seen.has(id)) {
        errors.push({ file, message: `unit ${id}: parent cycle` });
        return undefined;
      }
      seen.add(id);
      let parent: UnitRef | undefined;
      if (d.parent) {
        parent = resolve(d.parent, seen);
        if (!parent) errors.push({ file, message: `unit ${id}: unknown parent ${d.parent}` });
      }
      const ref: UnitRef = {
        id,
        name: d.name,
        path: [...(parent?.path ?? []), id],
        criticality: d.criticality ?? parent?.criticality ?? 'medium',
      };
      refs.set(id, ref);
      return ref;
    };
    const cidrs: Array<{ cidr: Cidr; unit: UnitRef }> = [];
    for (const d of defs.values()) {
      const ref = resolve(d.id, new Set());
      if (!ref) continue;
      for (const c of d.cidrs) {
        const cidr = parseCidr(c);
        if (!cidr) errors.push({ file, message: `unit ${d.id}: invalid CIDR ${c}` });
        else cidrs.push({ cidr, unit: ref });
      }
    }
    return { registry: new UnitRegistry(refs, cidrs), errors };
  }

  lookup(ip: string | undefined): UnitRef | undefined {
    if (!ip) return undefined;
    const a = parseIp(ip);
    if (!a) return undefined;
    const bits = a.family === 4 ? 32 : 128;
    for (const slot of this.byFamily[a.family]) {
      const u = slot.nets.get(mask(a.value, slot.prefix, bits));
      if (u) return u;
    }
    return undefined;
  }

  /**
   * `lookup` of an IPv4 address held as a uint32 (the flow decoder keeps addresses as numbers): no text
   * to parse back.
   */
  lookupV4(ip: number): UnitRef | undefined {
    if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) return undefined;
    const v = BigInt(ip);
    for (const slot of this.byFamily[4]) {
      const u = slot.nets.get(mask(v, slot.prefix, 32));
      if (u) return u;
    }
    return undefined;
  }
}
