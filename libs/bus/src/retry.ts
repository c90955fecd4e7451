/**
 * Which bus errors are worth retrying. Kept small and tested (vector's retry.rs): a publish that fails
 * during a leader election, a reconnect or a timeout will succeed later; a bad subject never will.
 */
export function isRetryableBusError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? '';
  if (
    [
      'TIMEOUT',
      '503',
      'CONNECTION_CLOSED',
      'CONNECTION_DRAINING',
      'DISCONNECT',
      'CONNECTION_REFUSED',
    ].includes(code)
  )
    return true;
  const msg = err.message.toLowerCase();
  return (
    msg.includes('timeout') ||
    msg.includes('no responders') ||
    msg.includes('jetstream is not enabled') ||
    msg.includes('jetstream not enabled') ||
    msg.includes('connection closed') ||
    msg.includes('disconnect') ||
    msg.includes('leader')
  );
}

export function backoffMs(attempt: number, baseMs = 100, maxMs = 5000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.floor(exp / 2 + Math.random() * (exp / 2));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
