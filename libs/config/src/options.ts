import { type OptionSpec } from './schema';

type Base = { env: string; description: string; secret?: boolean; example?: string };

export function str(o: Base & { default?: string }): OptionSpec<string> {
  return { ...o, parse: (raw) => raw };
}

export function int(o: Base & { default?: number; min?: number; max?: number }): OptionSpec<number> {
  return {
    ...o,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error('expected an integer');
      const n = Number(raw);
      if (o.min !== undefined && n < o.min) throw new Error(`must be >= ${o.min}`);
      if (o.max !== undefined && n > o.max) throw new Error(`must be <= ${o.max}`);
      return n;
    },
  };
}

export function port(o: Base & { default?: number }): OptionSpec<number> {
  return int({ ...o, min: 0, max: 65535 });
}

export function bool(o: Base & { default?: boolean }): OptionSpec<boolean> {
  return {
    ...o,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error('expected true or false');
    },
  };
}

export function list(o: Base & { default?: string[]; separator?: string }): OptionSpec<string[]> {
  const sep = o.separator ?? ',';
  return {
    ...o,
    parse: (raw) =>
      raw
        .split(sep)
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
  };
}

export function oneOf<T extends string>(o: Base & { default?: T; values: readonly T[] }): OptionSpec<T> {
  return {
    ...o,
    parse(raw) {
      if (!(o.values as readonly string[]).includes(raw))
        throw new Error(`expected one of ${o.values.join(', ')}`);
      return raw as T;
    },
  };
}

export function url(o: Base & { default?: string; protocols: string[] }): OptionSpec<string> {
  return {
    ...o,
    parse(raw) {
      const items = raw.split(',').map((s) => s.trim());
      for (const item of items) {
        let u: URL;
        try {
          u = new URL(item);
        } catch {
          throw new Error('not a valid URL');
        }
        if (!o.protocols.includes(u.protocol.replace(/:$/, '')))
          throw new Error(`expected ${o.protocols.join(' or ')} URL`);
      }
      return raw;
    },
  };
}
