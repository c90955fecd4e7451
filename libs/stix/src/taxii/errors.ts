/** Stable error codes: the outbox stores them and decides on retries by them, so never rename one. */
export type TaxiiErrorCode =
  | 'network_error'
  | 'timeout'
  | 'tls_error'
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'not_acceptable'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'rate_limited'
  | 'client_error'
  | 'server_error'
  | 'bad_response'
  | 'object_too_large'
  | 'not_writable'
  | 'status_incomplete';

export class TaxiiError extends Error {
  constructor(
    readonly code: TaxiiErrorCode,
    message: string,
    readonly httpStatus?: number,
    /** Server's Retry-After, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'TaxiiError';
  }
}

export function codeForStatus(status: number): TaxiiErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 406:
      return 'not_acceptable';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'unprocessable';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'server_error' : 'client_error';
  }
}

const RETRYABLE: ReadonlySet<TaxiiErrorCode> = new Set([
  'network_error',
  'timeout',
  'server_error',
  'rate_limited',
  // The server accepted the envelope but had not finished; re-sending is idempotent on (id, modified).
  'status_incomplete',
]);

/**
 * Whether a later attempt can succeed without anyone changing anything: transport failures, 5xx and 429.
 * Any other 4xx means the request itself is wrong (auth, media type, size, content) and must reach an admin.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TaxiiError) return RETRYABLE.has(err.code);
  if (isTlsFailure(err)) return false;
  // Errors thrown below our transport (DNS, resets) that escaped wrapping are network trouble.
  const code = errnoCode(err);
  return code !== undefined && /^(E[A-Z]+|UND_ERR_\w+)$/.test(code);
}

/** `Retry-After` as seconds or an HTTP date, relative to `now`. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Certificate and handshake failures: a wrong CA, an expired or missing client certificate. Retrying does
 * not fix configuration, so these are not network errors.
 */
export function isTlsFailure(err: unknown): boolean {
  const code = errnoCode(err);
  return (
    code !== undefined &&
    /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code)
  );
}

/** Duck-typed: errors from Node internals fail `instanceof Error` across realms (jest, vm). */
function errnoCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
