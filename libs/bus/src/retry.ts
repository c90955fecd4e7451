/**
 * Which bus errors are worth retrying, and why. Kept small and tested (vector's retry.rs): a publish that
 * fails during a leader election, a reconnect or a timeout will succeed later; a bad subject never will.
 * The reason is a short stable label so retries can be counted per cause.
 */
export type RetryReason =
  'timeout' | 'no_responders' | 'jetstream_unavailable' | 'connection' | 'leader_election';

const CODE_REASONS: Record<string, RetryReason> = {
  TIMEOUT: 'timeout',
  '408': 'timeout',
  CONNECTION_TIMEOUT: 'connection',
  // nats.js uses 503 both for "no responders" and for "jetstream not enabled"; a JetStream API error with
  // code 503 is "JetStream system temporarily unavailable" (err_code 10008) during an election.
  '503': 'no_responders',
  CONNECTION_CLOSED: 'connection',
  CONNECTION_DRAINING: 'connection',
  DISCONNECT: 'connection',
  CONNECTION_REFUSED: 'connection',
};

const MESSAGE_REASONS: Array<[RegExp, RetryReason]> = [
  [
    /jetstream (is )?not enabled|temporarily unavailable|cluster not (ready|available)/i,
    'jetstream_unavailable',
  ],
  [/no responders/i, 'no_responders'],
  [/timeout|timed out/i, 'timeout'],
  [/connection closed|disconnect|connection refused/i, 'connection'],
  [/leader|no quorum|quorum/i, 'leader_election'],
];

export function retryReason(err: unknown): RetryReason | undefined {
  if (!(err instanceof Error)) return undefined;
  // Message first: a 503 that says "jetstream not enabled" is an election, not a missing stream listener.
  for (const [re, reason] of MESSAGE_REASONS) if (re.test(err.message)) return reason;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? CODE_REASONS[code] : undefined;
}

export function isRetryableBusError(err: unknown): boolean {
  return retryReason(err) !== undefined;
}

export function backoffMs(attempt: number, baseMs = 100, maxMs = 5000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.floor(exp / 2 + Math.random() * (exp / 2));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long a start-up step keeps retrying a transient bus error (CITYSOC_NATS_START_RETRY_MS). */
export const DEFAULT_START_RETRY_MS = 60_000;

export interface StartRetryOptions {
  /** Give up (rethrow the last error) once this long has passed since the first attempt. */
  withinMs?: number;
  /** Backoff base and cap (tests shorten them). */
  baseMs?: number;
  maxMs?: number;
  /** Told before each wait; by default one line on stderr, so the supervisor's log shows why the start is slow. */
  onRetry?: (step: string, reason: RetryReason, attempt: number, err: unknown) => void;
  /** The clock (tests). */
  now?: () => number;
}

const warnOnStderr = (step: string, reason: RetryReason, attempt: number, err: unknown): void => {
  process.stderr.write(`citysoc: ${step} failed (${reason}, attempt ${attempt}): ${String(err)}; retrying\n`);
};

/**
 * Runs a start-up step against JetStream (declaring streams, consumers, KV buckets) again while it fails
 * with a transient error. Just after a NATS node restarts, a JetStream API request can time out or find no
 * leader for a few seconds; exiting then leaves the app to its supervisor's restart delay (and a test
 * harness to its own retry), while waiting here rides it out in seconds. An error that no retry can cure
 * (a bad config, a permission) is thrown at once.
 */
export async function retryTransient<T>(
  step: string,
  fn: () => Promise<T>,
  o: StartRetryOptions = {},
): Promise<T> {
  const now = o.now ?? Date.now;
  const deadline = now() + (o.withinMs ?? DEFAULT_START_RETRY_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const reason = retryReason(err);
      if (reason === undefined || now() >= deadline) throw err;
      (o.onRetry ?? warnOnStderr)(step, reason, attempt, err);
      await sleep(
        Math.min(backoffMs(attempt - 1, o.baseMs ?? 200, o.maxMs ?? 3000), Math.max(0, deadline - now())),
      );
    }
  }
}
