import { Controller, ForbiddenException, Get, Inject, Query, Req, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { type EcsEvent } from '@citysoc/ecs';
import { type EventStore, type Page } from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, scopeOf } from '../auth/roles';
import { EVENT_STORE } from '../tokens';
import { EventSearchQuery, parseFieldFilters } from './events.dto';
import { DrillBlindInterceptor, drillProbe, seesDrills } from '../drills/blind';

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/v1/events')
@UseInterceptors(DrillBlindInterceptor)
export class EventsController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({
    summary: 'Search events by time range, ECS field equality (field.path=value) and full text (q)',
  })
  @ApiQuery({
    name: 'field',
    required: false,
    description: 'Repeatable `path:value`, e.g. field=source.ip:10.1.2.3',
  })
  async search(@Query() q: EventSearchQuery, @Req() req: AuthedRequest): Promise<Page<EcsEvent>> {
    const scope = scopeOf(req);
    const fields = parseFieldFilters(q.field);
    // Searching by drill marks would tell an analyst which events are drills (blind mode).
    const probe = seesDrills(req) ? undefined : drillProbe(fields, q.q);
    if (probe !== undefined)
      throw new ForbiddenException(`searching by drill marks (${probe}) is for drill controllers only`);
    return this.store.searchEvents({
      fields,
      ...(scope !== undefined ? { scope } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.q ? { text: q.q } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.after ? { after: q.after } : {}),
    });
  }
}
