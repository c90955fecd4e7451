import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { type AuditEntry, type ControlStore, ROLES, type Role, UNIT_PATH_PATTERN } from '@citysoc/store';
import { Roles } from '../auth/roles';
import { CONTROL_STORE } from '../tokens';

export class CreateToken {
  @ApiProperty({ description: 'Who the token is for (shown in the audit log)', example: 'nguyen.van.a' })
  @IsString()
  @Matches(/^[\p{L}\p{N}._@-]{1,100}$/u)
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({
    description: 'Unit path the key is bound to; omit for city-wide',
    example: 'hanoi/ba-dinh',
  })
  @IsOptional()
  @Matches(UNIT_PATH_PATTERN)
  @MaxLength(300)
  unit?: string;
}

export class AuditQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'Entries before this sequence number' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1')
export class AdminController {
  constructor(@Inject(CONTROL_STORE) private readonly control: ControlStore) {}

  @Post('tokens')
  @ApiOperation({ summary: 'Issue an API token (admin). The token is shown once; only its hash is kept.' })
  createToken(@Body() body: CreateToken): {
    id: string;
    name: string;
    role: Role;
    unit: string | null;
    token: string;
  } {
    const { principal, token } = this.control.auth.createToken(
      body.name,
      body.role,
      undefined,
      body.unit ?? null,
    );
    return { id: principal.id, name: principal.name, role: principal.role, unit: principal.unit, token };
  }

  @Get('tokens')
  @ApiOperation({ summary: 'List tokens (admin); secrets are never shown' })
  listTokens() {
    return { items: this.control.auth.list() };
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a token (admin)' })
  revoke(@Param('id') id: string): void {
    if (!this.control.auth.revoke(id)) throw new NotFoundException(`no active token ${id}`);
  }

  @Get('audit')
  @Roles('auditor')
  @ApiOperation({ summary: 'Read the audit log, newest first (admin, auditor)' })
  audit(@Query() q: AuditQuery): { items: AuditEntry[] } {
    return { items: this.control.audit.list(q.limit ?? 100, q.before) };
  }

  @Get('audit/verify')
  @Roles('auditor')
  @ApiOperation({ summary: 'Check the audit log hash chain (admin, auditor)' })
  verify(): { ok: boolean; entries: number; brokenAt?: number } {
    return this.control.audit.verify();
  }
}
