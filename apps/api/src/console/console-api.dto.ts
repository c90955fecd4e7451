import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SEVERITIES } from '@citysoc/ecs';
import { UNIT_PATH_PATTERN } from '@citysoc/store';
import { GROUPS, type QueueGroup, type QueueView, VIEWS } from './queue-query';

export class QueueFilterQuery {
  @ApiPropertyOptional({ enum: VIEWS, default: 'open' })
  @IsOptional()
  @IsIn(VIEWS)
  view?: QueueView;

  @ApiPropertyOptional({ enum: SEVERITIES })
  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: string;

  @ApiPropertyOptional({ example: 'hanoi/ba-dinh' })
  @IsOptional()
  @Matches(UNIT_PATH_PATTERN)
  @MaxLength(300)
  unit?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  rule?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  tactic?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(300)
  entity?: string;

  @ApiPropertyOptional({ description: 'Words (diacritics-insensitive) or an incident id' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class QueueQuery extends QueueFilterQuery {
  @ApiPropertyOptional({ enum: GROUPS })
  @IsOptional()
  @IsIn(GROUPS)
  group?: QueueGroup;

  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  page?: number;

  @ApiPropertyOptional({ default: 50, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  size?: number;
}

/** Bulk by query: from and to are mandatory (checked by the controller) so what was confirmed is what closes. */
export class BulkByQuery extends QueueFilterQuery {
  @ApiProperty({ description: 'The count the analyst confirmed; a different match count is refused (409)' })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  expected!: number;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason!: string;
}
