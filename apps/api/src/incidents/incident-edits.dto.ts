import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';

const ID = /^[A-Za-z0-9_-]{1,100}$/;
/** Alert and event ids (UUIDs, hashes, Elasticsearch ids). */
const REF = /^[A-Za-z0-9_.:-]{1,200}$/;
export const EVIDENCE_KINDS = ['alert', 'event'] as const;

export class PinEvidence {
  @ApiProperty({ enum: EVIDENCE_KINDS })
  @IsIn(EVIDENCE_KINDS)
  kind!: 'alert' | 'event';

  @ApiProperty({ description: 'Alert id (must belong to the incident) or event id (must be in your scope)' })
  @Matches(REF)
  ref!: string;

  @ApiProperty({ description: 'Why it matters' })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  note!: string;
}

export class EvidenceParam {
  @Type(() => String)
  @Matches(ID)
  id!: string;

  @IsIn(EVIDENCE_KINDS)
  kind!: 'alert' | 'event';

  @Type(() => String)
  @Matches(REF)
  ref!: string;
}

export class MergeIncidents {
  @ApiProperty({
    description: 'Incidents to merge into this one; each becomes its duplicate',
    type: [String],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(ID, { each: true })
  sources!: string[];

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason!: string;
}

export class SplitIncident {
  @ApiProperty({ description: 'Alerts of this incident that move to a new incident', type: [String] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ArrayUnique()
  @Matches(REF, { each: true })
  alert_ids!: string[];

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason!: string;
}
