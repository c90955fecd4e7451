import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { type ControlStore } from '@citysoc/store';
import { CONTROL_STORE } from '../tokens';
import { type AuthedRequest } from './roles';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every mutating call, allowed or refused, lands in the hash-chained audit log with who, what and outcome. */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(@Inject(CONTROL_STORE) private readonly control: ControlStore) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (!MUTATING.has(req.method)) return next.handle();
    const record = (outcome: 'success' | 'failure', status: number) =>
      this.control.audit.append({
        actor: req.principal?.name ?? 'anonymous',
        action: `${req.method} ${ctx.getClass().name}.${ctx.getHandler().name}`,
        target: req.url.split('?')[0] ?? req.url,
        outcome,
        detail: {
          status,
          ip: req.ip ?? null,
          role: req.principal?.role ?? null,
          params: req.params ?? {},
          body: redact(req.body),
          ...(req.auditDetail ?? {}),
        },
      });
    return next.handle().pipe(
      tap({
        next: () => record('success', ctx.switchToHttp().getResponse<{ statusCode: number }>().statusCode),
        error: (err: unknown) => record('failure', err instanceof HttpException ? err.getStatus() : 500),
      }),
    );
  }
}

function redact(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body ?? null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>))
    out[k] = /token|password|secret/i.test(k) ? '[redacted]' : v;
  return out;
}
