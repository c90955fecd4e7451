import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { EventSearchQuery } from '../events/events.dto';

/** Plain dotted ECS field names only (the stores check again). */
const FIELD = /^[A-Za-z0-9_@][A-Za-z0-9_@.-]{0,199}$/;

export class HuntAggregateQuery extends EventSearchQuery {
  @ApiPropertyOptional({
    description: 'Repeatable ECS field whose top values to count (at most 10), e.g. top=source.ip',
  })
  @IsOptional()
  @Transform(({ value }) => (Array.isArray(value) ? value : [value]))
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(FIELD, { each: true })
  top?: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 50, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  size?: number;

  @ApiPropertyOptional({
    description: 'Histogram bucket in seconds; by default about 60 buckets over from–to (1 h without from)',
    minimum: 1,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(366 * 86_400)
  interval?: number;
}

export const VIEW_PAGES = ['hunt', 'queue'] as const;

export class SavedViewsQuery {
  @ApiProperty({ enum: VIEW_PAGES })
  @IsIn(VIEW_PAGES)
  page!: (typeof VIEW_PAGES)[number];
}

export class SaveViewBody extends SavedViewsQuery {
  @ApiProperty({ maxLength: 80 })
  @IsString()
  @MinLength(1)
  @MaxLength(80)
  name!: string;

  @ApiProperty({ description: "The page's URL query string, without '?'", maxLength: 2000 })
  @IsString()
  @MaxLength(2000)
  query!: string;

  @ApiPropertyOptional({ default: false, description: 'Visible to every console user (read-only for them)' })
  @IsOptional()
  @IsBoolean()
  shared?: boolean;
}
