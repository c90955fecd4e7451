import {
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Query,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { type Alert, SEVERITIES, type Severity } from '@citysoc/ecs';
import { type EventStore, inScope, type Page } from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, scopeOf } from '../auth/roles';
import { TimeRangeQuery } from '../events/events.dto';
import { EVENT_STORE } from '../tokens';
import { DrillBlindInterceptor } from '../drills/blind';

export class AlertListQuery extends TimeRangeQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  rule_id?: string;

  @ApiPropertyOptional({ enum: SEVERITIES })
  @IsOptional()
  @IsIn(SEVERITIES)
  level?: Severity;

  @ApiPropertyOptional({ description: 'e.g. source.ip:10.1.2.3' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  entity?: string;
}

@ApiTags('alerts')
@ApiBearerAuth()
@Controller('api/v1/alerts')
@UseInterceptors(DrillBlindInterceptor)
export class AlertsController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({ summary: 'List alerts, newest first' })
  list(@Query() q: AlertListQuery, @Req() req: AuthedRequest): Promise<Page<Alert>> {
    const scope = scopeOf(req);
    return this.store.listAlerts({
      ...(scope !== undefined ? { scope } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.rule_id ? { ruleId: q.rule_id } : {}),
      ...(q.level ? { level: q.level } : {}),
      ...(q.entity ? { entity: q.entity } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.after ? { after: q.after } : {}),
    });
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiOperation({ summary: 'One alert with its event and the fields that matched' })
  async get(@Param('id') id: string, @Req() req: AuthedRequest): Promise<Alert> {
    const a = await this.store.getAlert(id);
    if (!a || !alertInScope(a, scopeOf(req))) throw new NotFoundException(`alert ${id} not found`);
    return a;
  }
}

/** An alert belongs to the units of its event (reporting device, source, destination). */
export function alertInScope(a: Alert, scope: string | undefined): boolean {
  if (scope === undefined) return true;
  const c = a.event.citysoc;
  return [c?.unit, c?.source_unit, c?.destination_unit].some((u) => u && inScope(scope, u.path.join('/')));
}
