import {
  type CallHandler,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, map } from 'rxjs';
import {
  DRILL_LABEL,
  DRILL_SD_ID,
  isDrill,
  isDrillTag,
  redactDrillAlert,
  redactDrillEvent,
} from '@citysoc/drills';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { isClosed } from '@citysoc/incidents';
import { type Incident, type Role } from '@citysoc/store';
import { type AuthedRequest } from '../auth/roles';

/**
 * Who always sees whether an incident is a drill: the drill `controller` role, and admin for operations.
 * Not `lead`: in a blind exercise the shift lead is part of the team under test.
 */
const CONTROLLERS: ReadonlySet<string> = new Set<Role>(['controller', 'admin']);

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
 * no drill tags and no `drill` field; drill controllers (controller, admin) always get `drill: true|false`.
 * Pure: used by the interceptor on every incident-returning route.
 */
export function presentIncident(inc: Incident, controller: boolean): Incident & { drill?: boolean } {
  if (controller || isClosed(inc.status)) return { ...inc, drill: isDrill(inc) };
  return { ...inc, tags: inc.tags.filter((t) => !isDrillTag(t)) };
}

function alertLike(x: object): x is Alert {
  const a = x as Alert;
  return (
    typeof a.id === 'string' && typeof a.rule === 'object' && a.rule !== null && typeof a.event === 'object'
  );
}

function eventLike(x: object): x is EcsEvent {
  const e = x as EcsEvent;
  return typeof e['@timestamp'] === 'string' && typeof e.event === 'object' && e.event !== null;
}

/** Deep enough for the API's shapes: page → items → alert → event, incident detail → alerts/events. */
const MAX_DEPTH = 6;

/**
 * A response as a non-controller may see it: incidents per presentIncident, and every alert or event
 * anywhere in the body without its drill marks (labels.drill, the drill tag, the RFC 5424 drill SD element
 * in parsed and raw form). Controllers get incidents with `drill` and everything else as stored. Pure.
 */
export function presentBody(body: unknown, controller: boolean, depth = 0): unknown {
  if (typeof body !== 'object' || body === null || depth > MAX_DEPTH) return body;
  if (Array.isArray(body)) return body.map((x) => presentBody(x, controller, depth + 1));
  const incident = incidentLike(body);
  if (!incident && !controller) {
    if (alertLike(body)) return redactDrillAlert(body);
    if (eventLike(body)) return redactDrillEvent(body);
  }
  // An incident detail carries its alerts and events: they are walked too.
  const base = (incident ? presentIncident(body, controller) : body) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base))
    out[k] = incident && k === 'tags' ? v : presentBody(v, controller, depth + 1);
  return out;
}

/**
 * Applies presentBody to a route's response. On every route that returns incidents, alerts or events
 * (incidents, alerts, events, console, hunts): one leak anywhere tells an analyst which incident is a drill.
 */
@Injectable()
export class DrillBlindInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest & { query?: Record<string, unknown> }>();
    const controller = seesDrills(req);
    // Filtering by a drill tag would tell an analyst which incidents are drills.
    const tag = req.query?.['tag'];
    if (!controller && typeof tag === 'string' && isDrillTag(tag))
      throw new ForbiddenException('drill tags are visible to drill controllers only');
    return next.handle().pipe(map((body: unknown) => presentBody(body, controller)));
  }
}

/**
 * Would this event search tell a non-controller which events are drills? A field filter on the drill
 * label, the drill tag or the drill SD element, or a full-text search for the SD-ID. Pure.
 */
export function drillProbe(fields: Record<string, string>, text: string | undefined): string | undefined {
  for (const [path, value] of Object.entries(fields)) {
    if (path === `labels.${DRILL_LABEL}` || path.startsWith('labels.drill')) return path;
    if (path === 'tags' && isDrillTag(value.toLowerCase())) return `${path}:${value}`;
    if (path.includes(DRILL_SD_ID) || value.includes(DRILL_SD_ID)) return path;
  }
  if (text !== undefined && text.toLowerCase().includes('citysoc-drill')) return 'q';
  return undefined;
}
