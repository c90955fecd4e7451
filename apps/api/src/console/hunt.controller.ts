import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type ControlStore, type EventAggregates, type EventStore, type SavedView } from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, scopeOf } from '../auth/roles';
import { parseFieldFilters } from '../events/events.dto';
import { IdParam } from '../incidents/incidents.dto';
import { CONTROL_STORE, EVENT_STORE } from '../tokens';
import { HuntAggregateQuery, SavedViewsQuery, SaveViewBody } from './hunt.dto';
import { DrillBlindInterceptor } from '../drills/blind';

/** Histogram steps a human reads easily; the first giving at most MAX_BUCKETS over the range wins. */
const STEPS_S = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
const TARGET_BUCKETS = 60;

export function histogramInterval(fromMs: number | undefined, toMs: number, explicitS?: number): number {
  if (explicitS !== undefined) return explicitS * 1000;
  if (fromMs === undefined || !(toMs > fromMs)) return 3600_000;
  const span = toMs - fromMs;
  const step = STEPS_S.find((s) => span / (s * 1000) <= TARGET_BUCKETS) ?? 30 * 86_400;
  return step * 1000;
}

/** Hunt page support: counts over the events (histogram, top values) and saved searches. */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console')
@UseInterceptors(DrillBlindInterceptor)
export class HuntController {
  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  @Get('hunt/aggregate')
  @Roles(...READERS)
  @ApiOperation({
    summary: 'Events matching a hunt query counted per time bucket and by top values of chosen fields',
  })
  aggregate(@Query() q: HuntAggregateQuery, @Req() req: AuthedRequest): Promise<EventAggregates> {
    const scope = scopeOf(req);
    const from = q.from ? Date.parse(q.from) : undefined;
    const to = q.to ? Date.parse(q.to) : Date.now();
    const intervalMs = histogramInterval(from, to, q.interval);
    if (from !== undefined && (to - from) / intervalMs > 5000)
      throw new BadRequestException('interval too small for this range (more than 5000 buckets)');
    return this.events.aggregateEvents({
      fields: parseFieldFilters(q.field),
      intervalMs,
      top: q.top ?? [],
      ...(q.size ? { topN: q.size } : {}),
      ...(scope !== undefined ? { scope } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.q ? { text: q.q } : {}),
    });
  }

  @Get('views')
  @Roles(...READERS)
  @ApiOperation({ summary: "Saved views of a console page: the caller's own and those others shared" })
  views(@Query() q: SavedViewsQuery, @Req() req: AuthedRequest): { items: SavedView[] } {
    return { items: this.control.views.list(q.page, req.principal!.name) };
  }

  @Post('views')
  @HttpCode(200)
  @Roles(...READERS)
  @ApiOperation({ summary: 'Save (or replace, by name) a view of a console page' })
  save(@Body() b: SaveViewBody, @Req() req: AuthedRequest): SavedView {
    const v = this.control.views.save({
      owner: req.principal!.name,
      page: b.page,
      name: b.name.trim(),
      query: b.query,
      shared: b.shared ?? false,
    });
    req.auditDetail = { view: v.id };
    return v;
  }

  @Delete('views/:id')
  @HttpCode(204)
  @Roles(...READERS)
  @ApiOperation({ summary: 'Delete a saved view (its owner, or a lead for a shared one)' })
  remove(@Param() p: IdParam, @Req() req: AuthedRequest): void {
    const v = this.control.views.get(p.id);
    const me = req.principal!;
    if (!v || (v.owner !== me.name && !v.shared)) throw new NotFoundException('no such view');
    if (v.owner !== me.name && me.role !== 'lead')
      throw new ForbiddenException('only its owner or a lead can delete a shared view');
    req.auditDetail = { view: { name: v.name, owner: v.owner, page: v.page, query: v.query } };
    this.control.views.delete(v.id);
  }
}
