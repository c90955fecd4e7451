/**
 * Login attempts per client address in a sliding minute, in memory: it blunts password spraying across
 * accounts (the per-account lockout in the store stops guessing one account). Several API instances each
 * allow the rate; the stored lockout is the hard limit.
 */
export class LoginLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an attempt; false when the address is over its rate. */
  allow(address: string): boolean {
    const t = this.now();
    const recent = (this.hits.get(address) ?? []).filter((h) => h > t - 60_000);
    if (recent.length >= this.perMinute) {
      this.hits.set(address, recent);
      return false;
    }
    recent.push(t);
    this.hits.set(address, recent);
    if (this.hits.size > 10_000) this.prune(t);
    return true;
  }

  private prune(t: number): void {
    for (const [k, v] of this.hits) if (!v.some((h) => h > t - 60_000)) this.hits.delete(k);
  }
}
