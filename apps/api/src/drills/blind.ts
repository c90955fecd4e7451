import {
  type CallHandler,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, map } from 'rxjs';
import { isDrill, isDrillTag } from '@citysoc/drills';
import { isClosed } from '@citysoc/incidents';
import { type Incident } from '@citysoc/store';
import { type AuthedRequest } from '../auth/roles';

/** Who always sees whether an incident is a drill: the drill controllers. */
const CONTROLLERS = new Set(['lead', 'admin']);

export function seesDrills(req: AuthedRequest): boolean {
  return CONTROLLERS.has(req.principal?.role ?? '');
}

function incidentLike(x: unknown): x is Incident {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Incident).id === 'string' &&
    Array.isArray((x as Incident).tags) &&
    typeof (x as Incident).status === 'string' &&
    'alert_count' in x
  );
}

/**
 * Blind mode (issue 9): an analyst or responder sees a drill incident as a normal one until it is closed —
 * no drill tags and no `drill` field; drill controllers (lead, admin) always get `drill: true|false`.
 * Pure: used by the interceptor on every incident-returning route.
 */
export function presentIncident(inc: Incident, controller: boolean): Incident & { drill?: boolean } {
  if (controller || isClosed(inc.status)) return { ...inc, drill: isDrill(inc) };
  return { ...inc, tags: inc.tags.filter((t) => !isDrillTag(t)) };
}

function present(body: unknown, controller: boolean): unknown {
  if (incidentLike(body)) return presentIncident(body, controller);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body))
    out[k] = incidentLike(v)
      ? presentIncident(v, controller)
      : Array.isArray(v)
        ? v.map((x) => (incidentLike(x) ? presentIncident(x, controller) : x))
        : v;
  return out;
}

/** Applies presentIncident to a route's response (an incident, or incidents one level down). */
@Injectable()
export class DrillBlindInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest & { query?: Record<string, unknown> }>();
    const controller = seesDrills(req);
    // Filtering by a drill tag would tell an analyst which incidents are drills.
    const tag = req.query?.['tag'];
    if (!controller && typeof tag === 'string' && isDrillTag(tag))
      throw new ForbiddenException('drill tags are visible to drill controllers only');
    return next.handle().pipe(map((body: unknown) => present(body, controller)));
  }
}
