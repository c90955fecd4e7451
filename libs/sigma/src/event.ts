/** Per-event scratch shared by all rules of one `match` call, so keyword searches flatten the event once. */
export interface MatchCtx {
  event: Record<string, unknown>;
  /**
   * Unique per event a context serves: a rule set reuses one context object for all its events (no
   * allocation per event), so per-event caches key on this number, never on the object.
   */
  serial: number;
  strings: string[] | undefined;
  /** Lowercased long values: the index and every candidate rule fold the same command line. */
  lowered: Map<string, string> | undefined;
  joined: string | undefined;
}

let serials = 0;

export function newCtx(event: Record<string, unknown>): MatchCtx {
  return { event, serial: ++serials, strings: undefined, lowered: undefined, joined: undefined };
}

/** Points a context at the next event, dropping everything cached for the previous one. */
export function resetCtx(ctx: MatchCtx, event: Record<string, unknown>): void {
  ctx.event = event;
  ctx.serial = ++serials;
  ctx.strings = undefined;
  ctx.joined = undefined;
  // Values repeat little across events: a cleared map keeps its storage but no stale entries.
  if (ctx.lowered !== undefined && ctx.lowered.size > 0) ctx.lowered.clear();
}

/** Below this length lowercasing is cheaper than a hash lookup. */
const CACHE_FROM = 24;

export function lowerCached(ctx: MatchCtx, s: string): string {
  if (s.length < CACHE_FROM) return s.toLowerCase();
  const m = (ctx.lowered ??= new Map());
  let l = m.get(s);
  if (l === undefined) {
    l = s.toLowerCase();
    m.set(s, l);
  }
  return l;
}

export type Getter = (ctx: MatchCtx) => unknown;

/** A shared getter whose remembered value a caller that already read the field can supply. */
export type MemoGetter = Getter & {
  /** `v` must be exactly what the getter would return for this context's event. */
  seed(ctx: MatchCtx, v: unknown): void;
};

/**
 * Rule text arrives as sliced/concatenated strings; V8 must internalize a key on every property lookup
 * unless it already is one, which dominated matching time. Using it once as an object key interns it.
 */
export function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0] as string;
}

/**
 * `getField` semantics from @citysoc/ecs (a flat key wins; otherwise the longest dotted prefix that exists
 * as a key, recursively), with the candidate keys precomputed and interned, and own properties only so a
 * field named `constructor` never resolves to Object.prototype.
 */
export function makeGetter(rawPath: string): Getter {
  const path = intern(rawPath);
  if (!path.includes('.')) {
    return (ctx) => {
      const ev = ctx.event;
      return Object.hasOwn(ev, path) ? ev[path] : undefined;
    };
  }
  const segs = path.split('.');
  // keysFrom[i] = candidate keys starting at segment i, longest first, with the segment index after each.
  const keysFrom: { key: string; next: number }[][] = segs.map((_, i) => {
    const list: { key: string; next: number }[] = [];
    for (let j = segs.length; j > i; j--) list.push({ key: intern(segs.slice(i, j).join('.')), next: j });
    return list;
  });
  const resolve = (cur: unknown, i: number): unknown => {
    if (i === segs.length) return cur;
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const obj = cur as Record<string, unknown>;
    for (const c of keysFrom[i] as { key: string; next: number }[]) {
      if (Object.hasOwn(obj, c.key)) return resolve(obj[c.key], c.next);
    }
    return undefined;
  };
  return (ctx) => resolve(ctx.event, 0);
}

const shared = new Map<string, MemoGetter>();

/**
 * Reads the first of several paths that is present (a field mapped to alternatives). Getters are shared by
 * every rule that reads the same paths and remember their last answer for the match context it was
 * computed in: the rules an event meets mostly read the same few fields (Image, CommandLine, message), and
 * a context lives for one `match` call, during which the event does not change.
 */
export function makeMultiGetter(paths: readonly string[]): MemoGetter {
  const key = paths.join('\u0000');
  const g = shared.get(key);
  if (g) return g;
  const inner =
    paths.length === 1
      ? makeGetter(paths[0] as string)
      : (
          (getters: Getter[]): Getter =>
          (ctx) => {
            for (const one of getters) {
              const v = one(ctx);
              if (v !== undefined) return v;
            }
            return undefined;
          }
        )(paths.map(makeGetter));
  let lastSerial = 0;
  let lastValue: unknown;
  const memo = Object.assign(
    (ctx: MatchCtx): unknown => {
      if (ctx.serial !== lastSerial) {
        lastValue = inner(ctx);
        lastSerial = ctx.serial;
      }
      return lastValue;
    },
    {
      seed(ctx: MatchCtx, v: unknown): void {
        lastSerial = ctx.serial;
        lastValue = v;
      },
    },
  );
  shared.set(key, memo);
  return memo;
}

let active: MatchCtx | undefined;

/**
 * The context of the `match` call in progress, so logsource predicates asked during it reuse its cached
 * field values instead of building their own; undefined outside a match.
 */
export function setActiveCtx(ctx: MatchCtx | undefined): void {
  active = ctx;
}

/** The running match's context for this event, or a fresh one. */
export function ctxFor(event: Record<string, unknown>): MatchCtx {
  return active !== undefined && active.event === event ? active : newCtx(event);
}

/** Sigma compares scalars as strings: numbers in their JS form (`22`, `1000.5`), booleans as true/false. */
export function scalarString(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'object':
    case 'function':
    case 'symbol':
      return undefined;
  }
}

/** Every scalar value of the event in string form, depth first: what keyword detections search. */
export function allStrings(ctx: MatchCtx): string[] {
  if (ctx.strings) return ctx.strings;
  const out: string[] = [];
  eachString(ctx.event, 0, (s) => out.push(s));
  ctx.strings = out;
  return out;
}

const EMPTY: object = Object.freeze({});

/**
 * Whether `for…in` over `obj` yields its own keys only, so the walk can skip an `Object.hasOwn` per key
 * (which doubled the cost of enumerating an event): true for plain and null-prototype objects, unless
 * something made a property of Object.prototype enumerable (a polluted prototype is walked the slow way).
 */
export function ownKeysOnly(obj: object): boolean {
  return ownKeysIf(obj, plainPrototype());
}

/** Whether no property of Object.prototype is enumerable: a walk asks once, then `ownKeysIf` per object. */
export function plainPrototype(): boolean {
  for (const _ in EMPTY) return false;
  return true;
}

/** `ownKeysOnly` given what `plainPrototype` said at the start of the walk. */
export function ownKeysIf(obj: object, plain: boolean): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  return proto === null || (plain && proto === Object.prototype);
}

/**
 * Calls `f` on every scalar value in string form, depth first, in `allStrings` order: for a caller that
 * scans each value once and needs no array of them.
 */
export function eachString(v: unknown, depth: number, f: (s: string) => unknown): void {
  if (depth > 64) return;
  const s = scalarString(v);
  if (s !== undefined) {
    f(s);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) eachString(x, depth + 1, f);
  } else if (v !== null && typeof v === 'object') {
    const own = ownKeysOnly(v);
    for (const k in v)
      if (own || Object.hasOwn(v, k)) eachString((v as Record<string, unknown>)[k], depth + 1, f);
  }
}

/** Every value, lowercased and joined by U+0000 (which no rule literal holds): one string to scan. */
export function joinedLower(ctx: MatchCtx): string {
  return (ctx.joined ??= allStrings(ctx).join('\u0000').toLowerCase());
}
