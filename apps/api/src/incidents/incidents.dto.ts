import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { SEVERITIES, type Severity } from '@citysoc/ecs';
import { INCIDENT_STATUSES, type IncidentStatus } from '@citysoc/incidents';
import { UNIT_PATH_PATTERN, USERNAME_PATTERN } from '@citysoc/store';
import { PageQuery } from '../events/events.dto';

const ID = /^[A-Za-z0-9_-]{1,100}$/;
const TAG = /^[\p{L}\p{N}._:-]{1,64}$/u;

export class IncidentListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: INCIDENT_STATUSES })
  @IsOptional()
  @IsIn(INCIDENT_STATUSES)
  status?: IncidentStatus;

  @ApiPropertyOptional({ enum: SEVERITIES })
  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: Severity;

  @ApiPropertyOptional({ description: 'Incidents of this unit path and below', example: 'hanoi/ba-dinh' })
  @IsOptional()
  @Matches(UNIT_PATH_PATTERN)
  @MaxLength(300)
  unit?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(USERNAME_PATTERN)
  assignee?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(TAG)
  tag?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  rule_id?: string;

  @ApiPropertyOptional({ example: 'source.ip:203.0.113.9' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  entity?: string;

  @ApiPropertyOptional({ description: 'Words in the title, entity or grouping reason' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ description: 'Activity on or after (ISO 8601)' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ description: 'Activity before (ISO 8601)' })
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class Transition {
  @ApiProperty({ enum: INCIDENT_STATUSES })
  @IsIn(INCIDENT_STATUSES)
  status!: IncidentStatus;

  @ApiPropertyOptional({
    description: 'Why; required to close (resolved, false_positive, duplicate) or to reopen',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason?: string;

  @ApiPropertyOptional({ description: 'First-release name of `reason`' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  note?: string;

  @ApiPropertyOptional({ description: 'With status duplicate: the incident this one duplicates' })
  @ValidateIf((o: Transition) => o.status === 'duplicate' || o.duplicate_of !== undefined)
  @Matches(ID)
  duplicate_of?: string;
}

export class Assign {
  @ApiProperty({ description: 'User name to assign, or null to unassign', nullable: true, type: String })
  @ValidateIf((o: Assign) => o.assignee !== null)
  @Matches(USERNAME_PATTERN)
  assignee!: string | null;
}

export class Comment {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(8000)
  text!: string;
}

export class Tags {
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(TAG, { each: true })
  add?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(TAG, { each: true })
  remove?: string[];
}

export class BulkFalsePositive {
  @ApiProperty({
    type: [String],
    description: 'Exactly the incidents to close (as listed to the analyst); nothing else is touched',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @ArrayUnique()
  @Matches(ID, { each: true })
  ids!: string[];

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason!: string;
}

export class SlaReportQuery {
  @ApiPropertyOptional({ description: 'Incidents created on or after (ISO 8601)' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ description: 'Incidents created before (ISO 8601)' })
  @IsOptional()
  @IsISO8601()
  to?: string;

  @ApiPropertyOptional({ description: 'Only this unit subtree', example: 'hanoi/ba-dinh' })
  @IsOptional()
  @Matches(UNIT_PATH_PATTERN)
  @MaxLength(300)
  unit?: string;
}

export class IdParam {
  @Type(() => String)
  @Matches(ID)
  id!: string;
}
