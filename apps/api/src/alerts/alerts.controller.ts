import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { type Alert, SEVERITIES, type Severity } from '@citysoc/ecs';
import { type EventStore, type Page } from '@citysoc/store';
import { READERS, Roles } from '../auth/roles';
import { TimeRangeQuery } from '../events/events.dto';
import { EVENT_STORE } from '../tokens';

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
export class AlertsController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({ summary: 'List alerts, newest first' })
  list(@Query() q: AlertListQuery): Promise<Page<Alert>> {
    return this.store.listAlerts({
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
  async get(@Param('id') id: string): Promise<Alert> {
    const a = await this.store.getAlert(id);
    if (!a) throw new NotFoundException(`alert ${id} not found`);
    return a;
  }
}
