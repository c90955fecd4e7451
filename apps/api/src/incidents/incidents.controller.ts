import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { type Response } from 'express';
import { SEVERITIES, type Severity } from '@citysoc/ecs';
import { INCIDENT_STATUSES, type IncidentStatus } from '@citysoc/incidents';
import { type IncidentQueue } from '@citysoc/queues';
import {
  type ControlStore,
  type Incident,
  type IncidentNote,
  IncidentConflictError,
  type Page,
} from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, WORKERS } from '../auth/roles';
import { PageQuery } from '../events/events.dto';
import { CONTROL_STORE, INCIDENT_QUEUE } from '../tokens';

export class IncidentListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: INCIDENT_STATUSES })
  @IsOptional()
  @IsIn(INCIDENT_STATUSES)
  status?: IncidentStatus;

  @ApiPropertyOptional({ enum: SEVERITIES })
  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: Severity;
}

export class StatusChange {
  @ApiProperty({ enum: INCIDENT_STATUSES })
  @IsIn(INCIDENT_STATUSES)
  status!: IncidentStatus;

  @ApiProperty({ description: 'Why: kept in the incident history and the audit log' })
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  note!: string;
}

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('api/v1/incidents')
export class IncidentsController {
  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
  ) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({ summary: 'List incidents, newest first' })
  list(@Query() q: IncidentListQuery): Page<Incident> {
    return this.control.incidents.list({
      ...(q.status ? { status: q.status } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.after ? { after: q.after } : {}),
    });
  }

  @Post('claim')
  @HttpCode(200)
  @Roles('responder', 'lead')
  @ApiOperation({ summary: 'Claim the highest-priority incident waiting in the queue' })
  @ApiResponse({ status: 200, description: 'The claimed incident' })
  @ApiResponse({ status: 204, description: 'The queue is empty' })
  async claim(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Incident | undefined> {
    const actor = req.principal!.name;
    const claimed = await this.queue.claimNext(async (job) => {
      try {
        return this.control.incidents.claim(job.incidentId, actor);
      } catch (err) {
        // Already taken or worked on directly: skip to the next job.
        if (err instanceof IncidentConflictError) return undefined;
        throw err;
      }
    });
    if (!claimed) res.status(204);
    return claimed;
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiOperation({ summary: 'One incident with its alert ids and history' })
  get(@Param('id') id: string): Incident & { alert_ids: string[]; history: IncidentNote[] } {
    const inc = this.control.incidents.get(id);
    if (!inc) throw new NotFoundException(`incident ${id} not found`);
    return {
      ...inc,
      alert_ids: this.control.incidents.alertIds(id),
      history: this.control.incidents.notes(id),
    };
  }

  @Post(':id/status')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'Move an incident through its lifecycle with a note' })
  setStatus(@Param('id') id: string, @Body() body: StatusChange, @Req() req: AuthedRequest): Incident {
    return this.control.incidents.transition(id, body.status, req.principal!.name, body.note);
  }
}
