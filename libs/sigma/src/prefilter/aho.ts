/**
 * Aho-Corasick over UTF-16 code units, compiled to a dense DFA (state × character class) so a scan is one
 * table load per character whatever the number of needles. ASCII characters that occur in no needle share
 * class 0; every non-ASCII code unit shares one class, so the table stays a few dozen columns wide. That
 * merge makes the automaton report a superset of the true occurrences, which is all a prefilter needs:
 * a spurious hit only costs one rule evaluation.
 */
export class AhoCorasick {
  private readonly ascii = new Uint8Array(128);
  /** `ascii` with A-Z in the classes of a-z: scanning raw ASCII text as if it were lowercased. */
  private readonly folded = new Uint8Array(128);
  private readonly width: number;
  /**
   * Transitions, indexed by `row + class` where a state's row is its number times `width`, and holding
   * the next state's row: one add and one load per character. States are numbered so that those with
   * outputs come last, from row `outRow` on: a character that completes no needle costs one comparison.
   */
  /**
   * One element type for every automaton: the scan loops are shared by all of them (keyword and field
   * automata, small and large), and a table load that met two typed-array kinds is polymorphic in V8.
   */
  private readonly delta: Int32Array;
  private readonly outRow: number;
  /** outputs of state s: outIds[outStart[s] .. outStart[s + 1]), dictionary-suffix outputs included. */
  private readonly outStart: Int32Array;
  private readonly outIds: Int32Array;
  /** The shortest needle: a shorter text holds none. */
  private readonly minLen: number;
  readonly states: number;

  /** `needles[i]` reports id i; empty needles are not allowed (they would hold everywhere). */
  constructor(needles: readonly string[]) {
    // Class 1 is every non-ASCII code unit.
    let classes = 2;
    const classOf = (c: number): number => (c < 128 ? (this.ascii[c] as number) : 1);
    for (const n of needles) {
      if (n.length === 0) throw new Error('empty needle');
      for (let i = 0; i < n.length; i++) {
        const c = n.charCodeAt(i);
        if (c < 128 && this.ascii[c] === 0) this.ascii[c] = classes++;
      }
    }
    this.width = classes;
    // Exactly what scanning the lowercased text sees: an uppercase letter never occurs there.
    for (let c = 0; c < 128; c++) this.folded[c] = this.ascii[c >= 65 && c <= 90 ? c + 32 : c] as number;
    // Trie with sparse children first; the dense table is filled breadth first from it.
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    needles.forEach((n, id) => {
      let s = 0;
      for (let i = 0; i < n.length; i++) {
        const cls = classOf(n.charCodeAt(i));
        const ch = children[s] as Map<number, number>;
        let t = ch.get(cls);
        if (t === undefined) {
          t = children.length;
          children.push(new Map());
          own.push([]);
          ch.set(cls, t);
        }
        s = t;
      }
      (own[s] as number[]).push(id);
    });
    const n = children.length;
    this.states = n;
    const trie = new Int32Array(n * classes);
    const fail = new Int32Array(n);
    const order: number[] = [];
    const root = children[0] as Map<number, number>;
    for (let c = 0; c < classes; c++) {
      const t = root.get(c);
      if (t !== undefined) {
        trie[c] = t;
        fail[t] = 0;
        order.push(t);
      }
    }
    for (let q = 0; q < order.length; q++) {
      const s = order[q] as number;
      const ch = children[s] as Map<number, number>;
      const f = fail[s] as number;
      for (let c = 0; c < classes; c++) {
        const t = ch.get(c);
        if (t !== undefined) {
          trie[s * classes + c] = t;
          fail[t] = trie[f * classes + c] as number;
          order.push(t);
        } else {
          trie[s * classes + c] = trie[f * classes + c] as number;
        }
      }
    }
    // A state's outputs are its own needles plus those of its failure chain, merged once here.
    const merged: number[][] = new Array<number[]>(n);
    merged[0] = own[0] as number[];
    for (const s of order) {
      const f = fail[s] as number;
      const mine = own[s] as number[];
      const inherited = merged[f] as number[];
      merged[s] = inherited.length === 0 ? mine : mine.concat(inherited);
    }
    // Renumber: states without outputs first (the root, which has none, stays 0), then the others.
    const num = new Int32Array(n);
    let next = 0;
    for (let s = 0; s < n; s++) if ((merged[s] as number[]).length === 0) num[s] = next++;
    const firstOut = next;
    for (let s = 0; s < n; s++) if ((merged[s] as number[]).length > 0) num[s] = next++;
    this.outRow = firstOut * classes;
    const delta = new Int32Array(n * classes);
    for (let s = 0; s < n; s++) {
      const row = (num[s] as number) * classes;
      for (let c = 0; c < classes; c++)
        delta[row + c] = (num[trie[s * classes + c] as number] as number) * classes;
    }
    this.delta = delta;
    this.outStart = new Int32Array(n + 1);
    const byNum = new Array<number[]>(n);
    for (let s = 0; s < n; s++) byNum[num[s] as number] = merged[s] as number[];
    let total = 0;
    for (let s = 0; s < n; s++) {
      this.outStart[s] = total;
      total += (byNum[s] as number[]).length;
    }
    this.outStart[n] = total;
    this.outIds = new Int32Array(total);
    for (let s = 0; s < n; s++) this.outIds.set(byNum[s] as number[], this.outStart[s]);
    let minLen = Infinity;
    for (const x of needles) minLen = Math.min(minLen, x.length);
    this.minLen = minLen;
  }

  /** Whether `accept(id, end)` holds for some occurrence; stops at the first that does. */
  some(s: string, accept: (id: number, end: number) => boolean): boolean {
    if (s.length < this.minLen) return false;
    const { ascii, width, delta, outRow, outStart, outIds } = this;
    let row = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      row = delta[row + (c < 128 ? (ascii[c] as number) : 1)] as number;
      if (row < outRow) continue;
      const st = row / width;
      const b = outStart[st + 1] as number;
      for (let k = outStart[st] as number; k < b; k++) if (accept(outIds[k] as number, i + 1)) return true;
    }
    return false;
  }

  /**
   * `scan` of `s.toLowerCase()` without building it, for ASCII text: returns false at the first non-ASCII
   * code unit (whose lowercase may be ASCII, or longer), and the caller scans the lowercased string
   * instead. Hits reported before that are occurrences in the lowercased string too (same prefix).
   */
  scanFolded(s: string, hit: (id: number, end: number) => void): boolean {
    const { folded, width, delta, outRow, outStart, outIds } = this;
    // Too short for any needle, but a non-ASCII code unit still sends the caller to `scan`.
    const report = s.length >= this.minLen;
    let row = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) return false;
      row = delta[row + (folded[c] as number)] as number;
      if (row < outRow || !report) continue;
      const st = row / width;
      const b = outStart[st + 1] as number;
      for (let k = outStart[st] as number; k < b; k++) hit(outIds[k] as number, i + 1);
    }
    return true;
  }

  /** Calls `hit(id, end)` for every occurrence; `end` is the index just after the needle. */
  scan(s: string, hit: (id: number, end: number) => void): void {
    if (s.length < this.minLen) return;
    const { ascii, width, delta, outRow, outStart, outIds } = this;
    let row = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      row = delta[row + (c < 128 ? (ascii[c] as number) : 1)] as number;
      if (row < outRow) continue;
      const st = row / width;
      const b = outStart[st + 1] as number;
      for (let k = outStart[st] as number; k < b; k++) hit(outIds[k] as number, i + 1);
    }
  }
}
