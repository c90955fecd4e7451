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
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import {
  type ControlStore,
  MIN_PASSWORD_LENGTH,
  ROLES,
  type Role,
  UNIT_PATH_PATTERN,
  USERNAME_PATTERN,
  type UserView,
} from '@citysoc/store';
import { type AuthedRequest } from '../auth/roles';
import { CONTROL_STORE } from '../tokens';

export class CreateUser {
  @ApiProperty({ example: 'tran.thi.b' })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username may contain letters, digits and . _ @ - (1–100)' })
  username!: string;

  @ApiProperty({ format: 'password', minLength: MIN_PASSWORD_LENGTH })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(1024)
  password!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({
    description: 'Unit path the user is bound to (sees and acts only in that subtree); omit for city-wide',
    example: 'hanoi/ba-dinh',
  })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  @Matches(UNIT_PATH_PATTERN, { message: 'unit must be a unit path such as hanoi/ba-dinh' })
  unit?: string;
}

export class ResetPassword {
  @ApiProperty({ format: 'password', minLength: MIN_PASSWORD_LENGTH })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(1024)
  password!: string;
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/users')
export class UsersController {
  constructor(@Inject(CONTROL_STORE) private readonly control: ControlStore) {}

  @Post()
  @ApiOperation({ summary: 'Create a local user (admin); the password is stored as a scrypt hash' })
  async create(@Body() body: CreateUser, @Req() req: AuthedRequest): Promise<UserView> {
    const user = await this.control.auth.createUser({
      username: body.username,
      password: body.password,
      role: body.role,
      unit: body.unit ?? null,
    });
    req.auditDetail = { after: user };
    return user;
  }

  @Get()
  @ApiOperation({ summary: 'List users (admin); password hashes are never shown' })
  list(): { items: UserView[] } {
    return { items: this.control.auth.listUsers() };
  }

  @Post(':id/password')
  @HttpCode(204)
  @ApiOperation({ summary: 'Set a user’s password (admin); ends all their sessions' })
  async resetPassword(@Param('id') id: string, @Body() body: ResetPassword): Promise<void> {
    if (!(await this.control.auth.setPassword(id, body.password)))
      throw new NotFoundException(`no active user ${id}`);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Disable a user and end their sessions (admin)' })
  disable(@Param('id') id: string, @Req() req: AuthedRequest): void {
    const before = this.control.auth.getUser(id);
    if (!before || !this.control.auth.disableUser(id)) throw new NotFoundException(`no active user ${id}`);
    req.auditDetail = { before, after: this.control.auth.getUser(id) };
  }
}
