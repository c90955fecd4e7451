import { BadRequestException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsArray, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'Cursor from the previous page (`next`)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;
}

export class TimeRangeQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Inclusive start, ISO 8601 (e.g. 2026-11-27T08:00:00+07:00)' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ description: 'Exclusive end, ISO 8601' })
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class EventSearchQuery extends TimeRangeQuery {
  @ApiPropertyOptional({
    description: 'Full-text words, all must occur in the message (tone marks optional)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  q?: string;

  @IsOptional()
  @Transform(({ value }) => (Array.isArray(value) ? value : [value]))
  @IsArray()
  @IsString({ each: true })
  @MaxLength(300, { each: true })
  field?: string[];
}

/** `path:value` filters (repeatable `field` parameter) into the store's field map. */
export function parseFieldFilters(field: string[] | undefined): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const f of field ?? []) {
    const i = f.indexOf(':');
    if (i <= 0) throw new BadRequestException(`field filter must be path:value, got ${f}`);
    fields[f.slice(0, i)] = f.slice(i + 1);
  }
  return fields;
}
