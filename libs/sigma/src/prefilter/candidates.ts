import { type MatchCtx, eachString, lowerCached, ownKeysIf, plainPrototype, scalarString } from '../event';
import { AhoCorasick } from './aho';
import { ANY_VALUE, type Atom, type Requirement, atomKey } from './atoms';

/** What the index needs of a rule: its requirement, its position, and a stamp for per-event dedup. */
export interface Indexed {
  readonly req: Requirement;
  readonly idx: number;
  seen: number;
  /**
   * A gate is never a candidate: its stamp only records that one of its atoms held on the event
   * (`stamped`), which is how a logsource predicate with literals is rejected without running it.
   */
  readonly gate?: boolean;
}

interface Scanned<T> {
  k: 'prefix' | 'suffix' | 'contains';
  len: number;
  targets: T[];
}

/**
 * A step of the event walk: one edge per object key that leads towards an indexed path. Keys may be
 * dotted (`"a.b"`) as well as nested, as with the getters, so an edge holds any run of path segments.
 */
interface WalkNode<T> {
  here: PathNode<T> | undefined;
  edges: Map<string, WalkNode<T>>;
  /** `edges` as a null-prototype object, filled once the index is built: a keyed load per event key costs less than `Map#get`. */
  to: EdgeTable<WalkNode<T>>;
  /** `edges`' keys in a sieve (`mayHold`), filled with `to`. */
  sieve: Sieve;
  /** Whether `edges` is non-empty. */
  deeper: boolean;
}

interface PathNode<T> {
  present: T[];
  eq: Map<string, T[]> | null;
  /**
   * The longest key of `eq`. Lowercasing never shortens a string (checked for every code point in the
   * tests), so a longer value cannot equal a key and is neither lowercased nor looked up.
   */
  eqMax: number;
  ac: AhoCorasick | null;
  scanned: Scanned<T>[];
  /** Some scanned literal can occur in the text of a number or boolean (`scalarText`). */
  scalars: boolean;
}

/**
 * Whether a lowercased literal can occur in `String(x)` of a number, bigint or boolean, folded as the
 * automaton folds it: digits, sign, point and exponent, or a piece of `infinity`, `nan`, `true`, `false`.
 */
export function scalarText(lit: string): boolean {
  return /^[0-9.e+-]+$/.test(lit) || ['infinity', 'nan', 'true', 'false'].some((w) => w.includes(lit));
}

/** Edges keyed by an event's own keys; no prototype, so `constructor` or `__proto__` find nothing. */
export type EdgeTable<N> = Record<string, N | undefined>;

const NO_EDGES: EdgeTable<never> = Object.freeze(Object.create(null) as EdgeTable<never>);

/**
 * A key's bucket: its length and first code unit. Most keys of an event lead nowhere, and telling so
 * from the bucket is cheaper than the table lookup (a dictionary probe per key was a third of a walk).
 */
function bucket(k: string): number {
  const n = k.length;
  return n === 0 ? 0 : (n * 17 + k.charCodeAt(0)) & 255;
}

/** Buckets that hold some key of an edge table: a key in any other bucket is no edge. */
export type Sieve = Uint8Array;

/** Never written: the sieve of a node without edges. */
export const NO_KEYS: Sieve = new Uint8Array(256);

export function sieveOf(keys: Iterable<string>): Sieve {
  const s = new Uint8Array(256);
  for (const k of keys) s[bucket(k)] = 1;
  return s;
}

/** False when `k` is surely not among the sieve's keys. */
export function mayHold(sieve: Sieve, k: string): boolean {
  return sieve[bucket(k)] === 1;
}

/** A null-prototype copy of a Map of edges: what the walks look keys up in. */
export function edgeTable<N>(edges: ReadonlyMap<string, N>): EdgeTable<N> {
  if (edges.size === 0) return NO_EDGES;
  const t = Object.create(null) as EdgeTable<N>;
  for (const [k, n] of edges) t[k] = n;
  return t;
}

function freezeEdges<T extends Indexed>(n: WalkNode<T>): void {
  if (n.to !== NO_EDGES || n.edges.size === 0) return;
  n.to = edgeTable(n.edges);
  n.sieve = sieveOf(n.edges.keys());
  n.deeper = true;
  for (const c of n.edges.values()) freezeEdges(c);
}

const byIdx = (a: Indexed, b: Indexed): number => a.idx - b.idx;

export interface IndexInfo {
  /** Rules evaluated on every event: their condition can hold without any literal the index knows. */
  always: number;
  paths: number;
  atoms: number;
  automatonStates: number;
}

/**
 * Literal index: an event meets a rule only if one atom of the rule's requirement holds on it. Per event it
 * walks the paths the rules use, looks exact values up in a hash map and runs one Aho-Corasick pass per
 * value for prefixes, suffixes and substrings; keyword atoms are searched in every string of the event.
 */
export class CandidateIndex<T extends Indexed> {
  private readonly always: T[] = [];
  private readonly root: WalkNode<T> = {
    here: undefined,
    edges: new Map(),
    to: NO_EDGES,
    sieve: NO_KEYS,
    deeper: false,
  };
  private readonly anyValue: PathNode<T> | undefined;
  /** Stamp of the last `candidates` call: the clock's value then. */
  private gen = 0;
  private out: T[] = [];
  private ctx!: MatchCtx;
  private curLen = 0;
  private curScanned: Scanned<T>[] = [];
  readonly info: IndexInfo;

  /**
   * Indexes that hold the same entries (or gates) must share one `clock`: stamps live on the entries, and
   * a generation one index reuses would make another index's stale stamps look fresh.
   */
  constructor(
    entries: readonly T[],
    private readonly clock: { gen: number } = { gen: 0 },
  ) {
    const atoms = new Map<string, { atom: Atom; targets: T[] }>();
    for (const e of entries) {
      if (!e.req) {
        if (e.gate === true) throw new Error('a gate needs a requirement');
        this.always.push(e);
        continue;
      }
      for (const a of e.req) {
        const key = atomKey(a);
        const slot = atoms.get(key);
        if (slot) slot.targets.push(e);
        else atoms.set(key, { atom: a, targets: [e] });
      }
    }
    const byPath = new Map<string, { atom: Atom; targets: T[] }[]>();
    for (const slot of atoms.values()) {
      const list = byPath.get(slot.atom.path);
      if (list) list.push(slot);
      else byPath.set(slot.atom.path, [slot]);
    }
    let states = 0;
    for (const [path, slots] of byPath) {
      const node: PathNode<T> = { present: [], eq: null, eqMax: 0, ac: null, scanned: [], scalars: false };
      const needles: string[] = [];
      for (const { atom, targets } of slots) {
        if (atom.k === 'present') node.present.push(...targets);
        else if (atom.k === 'eq') {
          node.eq ??= new Map();
          node.eqMax = Math.max(node.eqMax, atom.text.length);
          const l = node.eq.get(atom.text);
          if (l) l.push(...targets);
          else node.eq.set(atom.text, [...targets]);
        } else {
          needles.push(atom.text);
          node.scanned.push({ k: atom.k, len: atom.text.length, targets });
          node.scalars ||= scalarText(atom.text);
        }
      }
      if (needles.length > 0) {
        node.ac = new AhoCorasick(needles);
        states += node.ac.states;
      }
      if (path === ANY_VALUE) {
        this.anyValue = node;
        continue;
      }
      this.addPath(path, node);
    }
    freezeEdges(this.root);
    this.info = {
      always: this.always.length,
      paths: byPath.size,
      atoms: atoms.size,
      automatonStates: states,
    };
  }

  private addPath(path: string, node: PathNode<T>): void {
    const segs = path.split('.');
    const at: WalkNode<T>[] = [this.root];
    for (let j = 1; j <= segs.length; j++) {
      const target: WalkNode<T> = {
        here: undefined,
        edges: new Map(),
        to: NO_EDGES,
        sieve: NO_KEYS,
        deeper: false,
      };
      at.push(target);
    }
    // Reuse the nodes already reachable by the one-segment chain, so every prefix has a single node.
    for (let j = 1; j <= segs.length; j++) {
      const prev = at[j - 1] as WalkNode<T>;
      const key = segs[j - 1] as string;
      at[j] = prev.edges.get(key) ?? (at[j] as WalkNode<T>);
      prev.edges.set(key, at[j] as WalkNode<T>);
    }
    for (let i = 0; i < segs.length; i++) {
      for (let j = i + 2; j <= segs.length; j++) {
        (at[i] as WalkNode<T>).edges.set(segs.slice(i, j).join('.'), at[j] as WalkNode<T>);
      }
    }
    (at[segs.length] as WalkNode<T>).here = node;
  }

  /** Whether one of a gate's atoms held on the event of the last `candidates` call (keyword atoms too). */
  stamped(e: T): boolean {
    return e.seen === this.gen;
  }

  /**
   * Rules that may match the event, in rule order; every other rule provably does not match it.
   * `keywords` lets a caller that knows no keyword rule applies to this event skip the keyword pass;
   * `keep` drops candidates once every atom (gates included) was seen.
   */
  candidates(ctx: MatchCtx, keywords?: () => boolean, keep?: (e: T) => boolean): T[] {
    const gen = (this.gen = ++this.clock.gen);
    // One array serves every call: the caller is done with the last event's candidates before it asks.
    const out = this.out;
    out.length = 0;
    this.ctx = ctx;
    for (const e of this.always) {
      e.seen = gen;
      out.push(e);
    }
    const kw = this.anyValue;
    if (kw?.ac) {
      // Keywords are only ever substrings: each value is scanned as it is (case folded by the automaton),
      // with no lowercased copy of the event built. The scan rides along the walk, so the event is
      // traversed once; its hits wait in `pending` until the walk's stamps tell whether a logsource that
      // owns keyword rules admits the event (`keywords`), and are dropped otherwise.
      this.keywordAc = kw.ac;
      this.keywordScanned = kw.scanned;
      this.keywordScalars = kw.scalars;
      this.plain = plainPrototype();
      this.walkAll(ctx.event, this.root, 0);
      const pending = this.pending;
      if (pending.length > 0) {
        if (!keywords || keywords()) for (const list of pending) this.mark(list);
        pending.length = 0;
      }
    } else this.walk(ctx.event, this.root, 0);
    if (keep) {
      // Before sorting: a field present in most events marks many rules that their route or second
      // requirement (both known only now) rule out, and sorting them all would cost more than the rest.
      let j = 0;
      for (let i = 0; i < out.length; i++) {
        const e = out[i] as T;
        if (keep(e)) out[j++] = e;
      }
      out.length = j;
      if (j > 1) out.sort(byIdx);
    } else if (out.length > this.always.length) out.sort(byIdx);
    return out;
  }

  /** `plainPrototype()` at the start of the current walk. */
  private plain = false;
  private keywordAc: AhoCorasick | undefined;
  private keywordScanned: Scanned<T>[] = [];
  /** Whether a keyword atom can occur in the text of a number or boolean (`scalarWords`). */
  private keywordScalars = false;
  /** Target lists of the keyword atoms found by the walk of the current event, not marked yet. */
  private readonly pending: (readonly T[])[] = [];

  private readonly scanKeywords = (s: string): void => {
    const ac = this.keywordAc as AhoCorasick;
    if (!ac.scanFolded(s, this.onKeyword)) ac.scan(lowerCached(this.ctx, s), this.onKeyword);
  };

  // Value boundaries do not matter: keyword atoms are plain substrings.
  private readonly onKeyword = (id: number): void => {
    this.pending.push((this.keywordScanned[id] as Scanned<T>).targets);
  };

  private mark(list: readonly T[]): void {
    const gen = this.gen;
    const out = this.out;
    for (const e of list) {
      if (e.seen === gen) continue;
      e.seen = gen;
      if (e.gate !== true) out.push(e);
    }
  }

  /**
   * Enumerates every (path, value) the getters can resolve (nested objects and flat dotted keys alike), a
   * superset of what a rule field can see, so the index never hides a rule that could match.
   */
  private walk(obj: Record<string, unknown>, at: WalkNode<T>, depth: number): void {
    const to = at.to;
    const sieve = at.sieve;
    for (const k in obj) {
      if (!mayHold(sieve, k)) continue;
      const next = to[k];
      if (next === undefined || !Object.hasOwn(obj, k)) continue;
      const v = obj[k];
      if (next.here) this.visit(next.here, v);
      if (depth < 64 && next.deeper && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        this.walk(v as Record<string, unknown>, next, depth + 1);
      }
    }
  }

  /**
   * `walk` and the keyword scan of `eachString` in one traversal: `obj` is an object at depth `d` of the
   * event, and `at` its node in the walk (undefined once no indexed path continues below). The depth
   * limits of both are kept exactly: values deeper than 64 are not keyword-scanned, objects deeper than
   * 64 not walked.
   */
  private walkAll(obj: Record<string, unknown>, at: WalkNode<T> | undefined, d: number): void {
    const own = ownKeysIf(obj, this.plain);
    for (const k in obj) {
      if (!own && !Object.hasOwn(obj, k)) continue;
      const v = obj[k];
      const next = at !== undefined && mayHold(at.sieve, k) ? at.to[k] : undefined;
      if (next?.here) this.visit(next.here, v);
      if (typeof v === 'string') {
        if (d < 64) this.scanKeywords(v);
        continue;
      }
      if (v === null || typeof v !== 'object') {
        // The text of a number or boolean is only worth scanning when some keyword could occur in it.
        if (d < 64 && this.keywordScalars) {
          const s = scalarString(v);
          if (s !== undefined) this.scanKeywords(s);
        }
        continue;
      }
      if (d >= 64) continue;
      if (Array.isArray(v)) eachString(v, d + 1, this.scanKeywords);
      else
        this.walkAll(
          v as Record<string, unknown>,
          next !== undefined && next.deeper ? next : undefined,
          d + 1,
        );
    }
  }

  private visit(node: PathNode<T>, v: unknown): void {
    if (node.present.length > 0) this.mark(node.present);
    if (!node.eq && !node.ac) return;
    if (Array.isArray(v)) {
      for (const x of v) {
        const s = scalarString(x);
        if (s !== undefined) this.scanString(node, s);
      }
      return;
    }
    const s = scalarString(v);
    if (s !== undefined) this.scanString(node, s);
  }

  private scanString(node: PathNode<T>, raw: string): void {
    if (node.eq && raw.length <= node.eqMax) {
      const hit = node.eq.get(lowerCached(this.ctx, raw));
      if (hit) this.mark(hit);
    }
    const ac = node.ac;
    if (ac) {
      this.curLen = raw.length;
      this.curScanned = node.scanned;
      if (!ac.scanFolded(raw, this.onHit)) {
        const s = lowerCached(this.ctx, raw);
        this.curLen = s.length;
        ac.scan(s, this.onHit);
      }
    }
  }

  private readonly onHit = (id: number, end: number): void => {
    const sc = this.curScanned[id] as Scanned<T>;
    // curLen < 0: a joined scan, where value boundaries are unknown and anchors cannot be checked.
    if (this.curLen >= 0 && (sc.k === 'prefix' ? end !== sc.len : sc.k === 'suffix' && end !== this.curLen))
      return;
    this.mark(sc.targets);
  };
}
