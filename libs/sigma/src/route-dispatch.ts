import { type ReqCheck, reqCheck, reqHolds } from './atom-check';
import { type MatchCtx, type MemoGetter, makeMultiGetter, ownKeysIf, plainPrototype } from './event';
import { type LogsourcePredicate } from './model';
import {
  CandidateIndex,
  type EdgeTable,
  type Indexed,
  NO_KEYS,
  type Sieve,
  edgeTable,
  mayHold,
  sieveOf,
} from './prefilter/candidates';

/** A rule as the dispatcher sees it: the route (logsource predicate) it belongs to and its second gate. */
export interface Routed extends Indexed {
  readonly route: number;
  readonly gate2: Indexed | undefined;
}

/** The rules of one set of admitting logsources, indexed on their own. */
export interface Combo {
  /** No logsource of the set admits the event: nothing to match. */
  readonly empty: boolean;
  readonly index: CandidateIndex<Indexed>;
  /** A candidate runs only if its second requirement held too. */
  readonly keep: (c: Indexed) => boolean;
}

/** Distinct combinations of key values remembered; past it the memo starts over (values are attacker-fed). */
export const MAX_LEAVES = 4096;
/** Inner trie levels remembered (keys × distinct values, plus array elements); past it the memo starts over. */
export const MAX_NODES = 16 * MAX_LEAVES;
/** Longest array of scalars a key may hold and still be memoized; events with a longer one take the general path. */
const MAX_ARRAY = 64;
/** Distinct sets of admitting logsources, each with its own index; events of a further set take the slow path. */
export const MAX_COMBOS = 256;
/** Combo indexes together hold at most this many times the set's own atoms (plus a little). */
export const COMBO_ATOMS_FACTOR = 4;
/** Predicates asked per event at one leaf (their verdict mask must fit in an int). */
const MAX_ASKED = 24;

interface Leaf {
  readonly leaf: true;
  /** Routes whose predicate admits every event with these key values. */
  readonly admitted: readonly number[];
  /** Predicates asked per event: the ones these key values leave open, then those that declare nothing. */
  readonly ask: readonly Volatile[];
  /** The combo for each mask of `ask` verdicts met so far (null: refused, take the general path). */
  readonly byMask: Map<number, Combo | null>;
}

/**
 * One trie level. Most key fields are absent from a given event, and presence keys are booleans: those
 * children sit in fields, so only a categorical value costs a `Map` lookup.
 */
interface Level {
  u: Level | Leaf | undefined;
  t: Level | Leaf | undefined;
  f: Level | Leaf | undefined;
  m: Map<unknown, Level | Leaf> | undefined;
}

function childOf(level: Level, v: unknown): Level | Leaf | undefined {
  if (v === undefined) return level.u;
  if (v === true) return level.t;
  if (v === false) return level.f;
  return level.m?.get(v);
}

function setChild(level: Level, v: unknown, next: Level | Leaf): void {
  if (v === undefined) level.u = next;
  else if (v === true) level.t = next;
  else if (v === false) level.f = next;
  else (level.m ??= new Map()).set(v, next);
}

const emptyLevel = (): Level => ({ u: undefined, t: undefined, f: undefined, m: undefined });

/**
 * Arrays of scalars are keyed element by element under this mark, then END, apart from plain values (no
 * text built per event, and NaN is not confused with null as in JSON text).
 */
const ARRAY = Symbol('array');
const END = Symbol('end');

interface Key {
  get: MemoGetter;
  presence: boolean;
  /** Slots (in KeyWalk) of the key's alternative paths, in order: the first one present is its value. */
  slots: number[];
}

interface WalkStep {
  slot: number;
  edges: Map<string, WalkStep>;
  /** `edges` as a null-prototype object (cheaper to look an event's key up in), filled once built. */
  to: EdgeTable<WalkStep>;
  /** `edges`' keys in a sieve, filled with `to`. */
  sieve: Sieve;
}

/** Marks a dotted key that a getter would prefer to a nested one: the walk cannot stand in for it. */
const DOTTED: WalkStep = { slot: -1, edges: new Map(), to: edgeTable(new Map()), sieve: NO_KEYS };

/**
 * Reads the key paths of every memoized predicate in one pass over the event's keys: a field getter
 * probes flat dotted names before nested ones (`auditd.log.event.module`, then `auditd.log.event` …),
 * and a miss on a large object is the dearest thing it does. Only nested keys are followed; an object
 * key that is a dotted prefix of a path (which a getter would take) makes `read` return false, and the
 * caller falls back to the getters.
 */
class KeyWalk {
  readonly root: WalkStep = { slot: -1, edges: new Map(), to: edgeTable(new Map()), sieve: NO_KEYS };
  readonly values: unknown[];

  constructor(paths: readonly string[]) {
    this.values = new Array<unknown>(paths.length);
    paths.forEach((path, slot) => {
      const segs = path.split('.');
      let at = this.root;
      for (let i = 0; i < segs.length; i++) {
        for (let j = i + 2; j <= segs.length; j++) {
          const dotted = segs.slice(i, j).join('.');
          if (!at.edges.has(dotted)) at.edges.set(dotted, DOTTED);
        }
        const seg = segs[i] as string;
        let next = at.edges.get(seg);
        if (next === undefined || next === DOTTED)
          at.edges.set(
            seg,
            (next = { slot: -1, edges: new Map(), to: edgeTable(new Map()), sieve: NO_KEYS }),
          );
        at = next;
      }
      at.slot = slot;
    });
    const fill = (st: WalkStep): void => {
      st.to = edgeTable(st.edges);
      st.sieve = sieveOf(st.edges.keys());
      for (const c of st.edges.values()) if (c !== DOTTED) fill(c);
    };
    fill(this.root);
  }

  /** `plainPrototype()` at the start of the current read. */
  private plain = false;

  read(event: Record<string, unknown>): boolean {
    this.values.fill(undefined);
    this.plain = plainPrototype();
    return this.walk(event, this.root);
  }

  private walk(obj: Record<string, unknown>, at: WalkStep): boolean {
    const to = at.to;
    const sieve = at.sieve;
    const own = ownKeysIf(obj, this.plain);
    for (const k in obj) {
      if (!mayHold(sieve, k)) continue;
      const next = to[k];
      if (next === undefined || (!own && !Object.hasOwn(obj, k))) continue;
      if (next === DOTTED) return false;
      const v = obj[k];
      if (next.slot >= 0) this.values[next.slot] = v;
      if (next.edges.size > 0 && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        if (!this.walk(v as Record<string, unknown>, next)) return false;
      }
    }
    return true;
  }
}

interface Volatile {
  route: number;
  pred: LogsourcePredicate;
  /**
   * Asked because the memo's partial verdict was open (not because the predicate declares nothing): its
   * `wreq` is then necessary, and is checked first.
   */
  memo: boolean;
  /** The predicate's requirements, compiled once the walk's slots are known. */
  wreq: ReqCheck;
  req: ReqCheck;
  req2: ReqCheck;
}

function scalarArray(v: readonly unknown[]): boolean {
  for (const x of v) {
    const t = typeof x;
    if (x !== null && t !== 'string' && t !== 'number' && t !== 'boolean') return false;
  }
  return true;
}

/**
 * Routing before indexing. A rule set with logsource predicates first finds the logsources that admit an
 * event, then walks it with an index of just their rules: an event no logsource admits costs a few
 * field reads, and one that only Windows rules can see is never scanned for Linux keywords.
 *
 * A predicate that declares what it reads (`reads`, `partial`) is a function of those values. Its
 * verdict is memoized per distinct combination of its categorical fields (event.module, process.name,
 * Channel, observer.vendor …) and of whether its wide fields (a regex on `message`) are present: a trie
 * bounded by MAX_LEAVES. Where a present wide field leaves the verdict open, and for predicates that
 * declare nothing, the predicate is asked per event, behind a check of its requirement's literals.
 */
export class RouteDispatch {
  private readonly keys: Key[];
  private readonly keyWalk: KeyWalk;
  private readonly memoized: Volatile[];
  private readonly volatile: Volatile[];
  private root: Level | Leaf;
  private leaves = 0;
  /** Inner levels of the trie, which an event that ends in no leaf (an object value) also creates. */
  private nodes = 0;
  private readonly combos = new Map<string, Combo>();
  /**
   * Atoms all combo indexes may hold together: a rule indexed in several combos (process_creation rules
   * in every Sysmon event id's combo) costs memory each time, so past a few times the whole set's atoms
   * further combos are not built and their events take the general path.
   */
  private atomBudget: number;
  /** Whether the last `leafFor` could trust the key walk (no dotted key hid a nested value). */
  private walked = false;

  private constructor(
    private readonly preds: readonly LogsourcePredicate[],
    private readonly entries: readonly Routed[],
    private readonly clock: { gen: number },
  ) {
    const byPaths = new Map<string, { paths: readonly string[]; presence: boolean }>();
    this.memoized = [];
    this.volatile = [];
    preds.forEach((pred, route) => {
      const reads = pred.reads;
      if (!reads || !pred.partial) {
        this.volatile.push(volatile(route, pred, false));
        return;
      }
      this.memoized.push(volatile(route, pred, true));
      // A wide field is keyed by its presence: absent, it decides like any other value.
      for (const r of reads) {
        const k = r.paths.join('\u0000');
        const prev = byPaths.get(k);
        if (prev) prev.presence &&= r.mode !== 'value';
        else byPaths.set(k, { paths: r.paths, presence: r.mode !== 'value' });
      }
    });
    const slotOf = new Map<string, number>();
    const slot = (path: string): number => {
      let s = slotOf.get(path);
      if (s === undefined) slotOf.set(path, (s = slotOf.size));
      return s;
    };
    this.keys = [...byPaths.values()].map((k) => ({
      get: makeMultiGetter(k.paths),
      presence: k.presence,
      slots: k.paths.map(slot),
    }));
    this.keyWalk = new KeyWalk([...slotOf.keys()]);
    // Paths a requirement reads beyond the keys' get no slot: the walk would have to follow them too.
    for (const v of [...this.memoized, ...this.volatile]) {
      const p = v.pred;
      v.wreq = reqCheck(p.wreq, slotOf);
      v.req = reqCheck(p.req, slotOf);
      v.req2 = reqCheck(p.req2, slotOf);
    }
    this.root = this.keys.length === 0 ? this.newLeaf(undefined) : emptyLevel();
    let atoms = 0;
    for (const e of entries) atoms += (e.req?.length ?? 0) + (e.gate2?.req?.length ?? 0);
    this.atomBudget = COMBO_ATOMS_FACTOR * atoms + 10_000;
  }

  /** Undefined when routing first cannot pay: too many predicates that must be asked on every event. */
  static create(
    preds: readonly LogsourcePredicate[],
    entries: readonly Routed[],
    clock: { gen: number },
  ): RouteDispatch | undefined {
    const volatile = preds.filter((p) => !p.reads || !p.partial).length;
    return volatile > MAX_ASKED ? undefined : new RouteDispatch(preds, entries, clock);
  }

  /** Distinct admitting sets met so far (for tests and stats). */
  get comboCount(): number {
    return this.combos.size;
  }

  /**
   * The rules whose logsource admits the event of `ctx` (the active context of a `match`), or undefined
   * when this event must take the general path (a key field holds an object, or too many combos).
   */
  combo(ctx: MatchCtx): Combo | undefined {
    const leaf = this.leafFor(ctx);
    if (leaf === undefined) return undefined;
    let mask = 0;
    const ask = leaf.ask;
    if (ask.length > MAX_ASKED) return undefined;
    // The walk's values are what the getters would return, without their probes of the event.
    const slots = this.walked ? this.keyWalk.values : undefined;
    for (let j = 0; j < ask.length; j++) {
      const v = ask[j] as Volatile;
      if (
        (!v.memo || reqHolds(v.wreq, ctx, slots)) &&
        reqHolds(v.req, ctx, slots) &&
        reqHolds(v.req2, ctx, slots) &&
        v.pred(ctx.event)
      )
        mask |= 1 << j;
    }
    const known = leaf.byMask.get(mask);
    if (known !== undefined) return known ?? undefined;
    const combo = this.comboOf(leaf, mask);
    leaf.byMask.set(mask, combo ?? null);
    return combo;
  }

  private leafFor(ctx: MatchCtx): Leaf | undefined {
    let at = this.root;
    const keys = this.keys;
    const walked = (this.walked = keys.length > 0 && this.keyWalk.read(ctx.event));
    const values = this.keyWalk.values;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as Key;
      let v: unknown;
      if (walked) {
        for (const s of k.slots) {
          v = values[s];
          if (v !== undefined) break;
        }
        // The predicates and rules that read these paths share this getter: they need not probe again.
        k.get.seed(ctx, v);
      } else v = k.get(ctx);
      let level = at as Level;
      if (k.presence) v = v !== undefined;
      else if (v !== null && typeof v === 'object') {
        // A long array is not worth a memo entry per element (and must not outgrow MAX_NODES alone).
        if (!Array.isArray(v) || v.length > MAX_ARRAY || !scalarArray(v)) return undefined;
        level = this.step(level, ARRAY) as Level;
        for (const x of v) level = this.step(level, x) as Level;
        v = END;
      }
      let next = childOf(level, v);
      if (next === undefined) {
        if (this.leaves >= MAX_LEAVES || this.nodes >= MAX_NODES) return this.forget(ctx);
        next = i === keys.length - 1 ? this.newLeaf(ctx) : this.newLevel();
        setChild(level, v, next);
      }
      at = next;
    }
    return at as Leaf;
  }

  /** The inner level under `v` (an array element or mark), created when new. */
  private step(level: Level, v: unknown): Level | Leaf {
    let next = childOf(level, v);
    if (next === undefined) setChild(level, v, (next = this.newLevel()));
    return next;
  }

  private newLevel(): Level {
    this.nodes++;
    return emptyLevel();
  }

  /** Values seen so far are forgotten, not refused: the memo only saves predicate calls. */
  private forget(ctx: MatchCtx): Leaf | undefined {
    this.root = emptyLevel();
    this.leaves = 0;
    this.nodes = 0;
    return this.leafFor(ctx);
  }

  private newLeaf(ctx: MatchCtx | undefined): Leaf {
    this.leaves++;
    const admitted: number[] = [];
    const ask: Volatile[] = [];
    // A trie without keys has one leaf, and its memoized predicates read nothing: constant verdicts.
    const event = ctx?.event ?? {};
    for (const m of this.memoized) {
      const v = (m.pred.partial as NonNullable<LogsourcePredicate['partial']>)(event);
      if (v === 1) admitted.push(m.route);
      else if (v === 2) ask.push(m);
    }
    ask.push(...this.volatile);
    return { leaf: true, admitted, ask, byMask: new Map() };
  }

  private comboOf(leaf: Leaf, mask: number): Combo | undefined {
    const routes = [...leaf.admitted];
    leaf.ask.forEach((v, j) => {
      if (mask & (1 << j)) routes.push(v.route);
    });
    routes.sort((a, b) => a - b);
    const key = routes.join(',');
    let combo = this.combos.get(key);
    if (combo === undefined) {
      if (this.combos.size >= MAX_COMBOS) return undefined;
      const routeSet = new Set(routes);
      let atoms = 0;
      for (const e of this.entries)
        if (routeSet.has(e.route)) atoms += (e.req?.length ?? 0) + (e.gate2?.req?.length ?? 0);
      if (atoms > this.atomBudget) return undefined;
      this.atomBudget -= atoms;
      combo = this.build(routeSet);
      this.combos.set(key, combo);
    }
    return combo;
  }

  private build(routes: ReadonlySet<number>): Combo {
    const entries = this.entries.filter((e) => routes.has(e.route));
    const gates = entries.flatMap((e) => (e.gate2 ? [e.gate2] : []));
    const index = new CandidateIndex<Indexed>([...entries, ...gates], this.clock);
    return {
      empty: entries.length === 0,
      index,
      keep: (c) => {
        const g = (c as Routed).gate2;
        return g === undefined || index.stamped(g);
      },
    };
  }
}

function volatile(route: number, pred: LogsourcePredicate, memo: boolean): Volatile {
  return { route, pred, memo, wreq: undefined, req: undefined, req2: undefined };
}
