import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsIP,
  IsISO8601,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class SyslogAllocationDto {
  @ApiProperty({ enum: ['udp', 'tcp', 'tls'] })
  @IsIn(['udp', 'tcp', 'tls'])
  transport!: 'udp' | 'tcp' | 'tls';

  @ApiProperty({ description: 'Sender address as the listener sees it' })
  @IsIP()
  address!: string;

  @ApiProperty({ description: 'Source port the runner binds' })
  @IsInt()
  @Min(1)
  @Max(65535)
  port!: number;
}

export class ExporterAllocationDto {
  @ApiProperty()
  @IsIP()
  address!: string;

  @ApiProperty({ description: 'v9 source id / IPFIX observation domain / v5 engine type<<8|id' })
  @IsInt()
  @Min(0)
  @Max(4294967295)
  domain!: number;
}

export class DrillWindowDto {
  @ApiProperty()
  @IsISO8601({ strict: true })
  start!: string;

  @ApiProperty()
  @IsISO8601({ strict: true })
  end!: string;
}

export class RegisterDrillRunDto {
  @ApiProperty({ example: 'd-XPP68NHJ' })
  @Matches(/^d-[A-Za-z0-9]{4,32}$/)
  runId!: string;

  @ApiProperty()
  @Matches(/^[a-z0-9][a-z0-9-]{0,99}$/)
  scenario!: string;

  @ApiProperty({ description: 'sha256 of the scenario file (hex)' })
  @Matches(/^[0-9a-f]{64}$/)
  scenarioSha256!: string;

  @ApiProperty({ type: [SyslogAllocationDto] })
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => SyslogAllocationDto)
  syslog!: SyslogAllocationDto[];

  @ApiProperty({ type: [ExporterAllocationDto] })
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => ExporterAllocationDto)
  exporters!: ExporterAllocationDto[];

  @ApiPropertyOptional({
    type: [String],
    description:
      "SHA-256 fingerprints (64 hex, colons allowed) of drill client certificates: a syslog TLS connection presenting one is the run's, from any source port",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @Matches(/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31})$/, { each: true })
  clientCerts?: string[];

  @ApiProperty({ type: DrillWindowDto })
  @ValidateNested()
  @Type(() => DrillWindowDto)
  window!: DrillWindowDto;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  seed?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsNumber()
  @Min(0.01)
  @Max(10000)
  speed?: number;

  @ApiPropertyOptional({
    enum: ['dry-run', 'deliver'],
    description:
      "Notifications of the run's incidents: recorded only (default) or sent to the real recipients",
  })
  @IsOptional()
  @IsIn(['dry-run', 'deliver'])
  notify?: 'dry-run' | 'deliver';
}

export class DrillRunIdParam {
  @ApiProperty()
  @Matches(/^d-[A-Za-z0-9]{4,32}$/)
  id!: string;
}

export class AbortDrillRunDto {
  @ApiPropertyOptional({ description: 'Why the run is aborted (goes into every closed incident)' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class FinishDrillRunDto {
  @ApiPropertyOptional({ enum: ['pass', 'fail', 'error'] })
  @IsOptional()
  @IsIn(['pass', 'fail', 'error'])
  result?: 'pass' | 'fail' | 'error';

  @ApiPropertyOptional({ description: 'Where the scorecard was written' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  scorecard?: string;

  @ApiPropertyOptional({
    description: "The scorecard's coverage.by_technique: ATT&CK technique id → pass | fail",
    example: { T1110: 'pass' },
  })
  @IsOptional()
  @IsObject()
  techniques?: Record<string, 'pass' | 'fail'>;

  @ApiPropertyOptional({ description: 'ATT&CK version of the scenario', example: '17.1' })
  @IsOptional()
  @IsString()
  @MaxLength(20)
  attack_version?: string;
}

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/i;

/** The technique map's keys and values, which class-validator cannot express for a record. */
export function techniqueMapProblem(t: Record<string, unknown>): string | null {
  const entries = Object.entries(t);
  if (entries.length > 1000) return 'at most 1000 techniques';
  for (const [k, v] of entries) {
    if (!TECHNIQUE.test(k)) return `not an ATT&CK technique id: ${k.slice(0, 40)}`;
    if (v !== 'pass' && v !== 'fail') return `technique ${k}: expected pass or fail`;
  }
  return null;
}
