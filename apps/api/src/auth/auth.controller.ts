import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { type ControlStore, MIN_PASSWORD_LENGTH } from '@citysoc/store';
import { type ConfigOf } from '@citysoc/config';
import { type apiSchema } from '../config';
import { API_CONFIG, CONTROL_STORE, LOGIN_LIMITER } from '../tokens';
import { type LoginLimiter } from './login-limiter';
import { type AuthedRequest, Public, READERS, Roles } from './roles';

export class LoginRequest {
  @ApiProperty({ example: 'nguyen.van.a' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  username!: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;
}

export class ChangePassword {
  @ApiProperty({ format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  current_password!: string;

  @ApiProperty({ format: 'password', minLength: MIN_PASSWORD_LENGTH })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(1024)
  new_password!: string;
}

function bearerOf(req: AuthedRequest): string {
  const header = req.headers.authorization;
  return typeof header === 'string' ? header.slice(7).trim() : '';
}

export class LoginResponse {
  @ApiProperty({ description: 'Session token: send as `Authorization: Bearer …`' })
  token!: string;
  @ApiProperty({ format: 'date-time' })
  expires_at!: string;
}

export class MeResponse {
  @ApiProperty({ example: 'nguyen.van.a' })
  username!: string;

  @ApiProperty({ example: 'analyst' })
  role!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Unit subtree the caller is bound to; null = city-wide',
  })
  unit!: string | null;

  @ApiProperty({ enum: ['session', 'api_key'] })
  kind!: 'session' | 'api_key';
}

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(API_CONFIG) private readonly config: ConfigOf<typeof apiSchema>,
    @Inject(LOGIN_LIMITER) private readonly limiter: LoginLimiter,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in with a username and password; returns a short-lived session token' })
  @ApiResponse({ status: 200, type: LoginResponse })
  @ApiResponse({
    status: 401,
    description: 'Wrong credentials, unknown user, or locked account (one answer)',
  })
  @ApiResponse({ status: 429, description: 'Too many attempts from this address' })
  async login(@Body() body: LoginRequest, @Req() req: AuthedRequest): Promise<LoginResponse> {
    const ip = req.ip ?? 'unknown';
    if (!this.limiter.allow(ip)) {
      req.auditDetail = { refused: 'rate_limited', username: body.username };
      throw new HttpException('too many login attempts; wait a minute', HttpStatus.TOO_MANY_REQUESTS);
    }
    const r = await this.control.auth.login(
      body.username,
      body.password,
      {
        maxFailures: this.config.loginMaxFailures,
        lockoutMs: this.config.loginLockoutMinutes * 60_000,
        sessionMs: this.config.sessionMinutes * 60_000,
      },
      ip,
    );
    if (!r.ok) {
      // One answer for unknown user, wrong password and locked account: no probing which names exist.
      req.auditDetail = { refused: r.reason, username: body.username };
      throw new UnauthorizedException('invalid username or password, or the account is locked');
    }
    req.principal = r.principal;
    return { token: r.token, expires_at: new Date(r.expiresAt).toISOString() };
  }

  @Get('me')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Who the caller is: name, role, unit scope and credential kind' })
  @ApiResponse({ status: 200, type: MeResponse })
  me(@Req() req: AuthedRequest): MeResponse {
    const who = req.principal!;
    return { username: who.name, role: who.role, unit: who.unit, kind: who.kind };
  }

  @Post('password')
  @HttpCode(204)
  @Roles(...READERS)
  @ApiOperation({
    summary: 'Change your own password (logged-in users); ends your other sessions',
  })
  @ApiResponse({ status: 204, description: 'Changed' })
  @ApiResponse({ status: 400, description: 'An API key has no password, or the new one is too short' })
  @ApiResponse({ status: 403, description: 'The current password is wrong' })
  @ApiResponse({ status: 429, description: 'Too many attempts from this address' })
  async changePassword(@Body() body: ChangePassword, @Req() req: AuthedRequest): Promise<void> {
    const who = req.principal;
    if (!who || who.kind !== 'session')
      throw new BadRequestException('log in with a username and password to change it; API keys have none');
    // The current password is a credential like any other: guessing it is rate-limited per address.
    if (!this.limiter.allow(req.ip ?? 'unknown'))
      throw new HttpException('too many attempts; wait a minute', HttpStatus.TOO_MANY_REQUESTS);
    if (!(await this.control.auth.checkPassword(who.id, body.current_password))) {
      req.auditDetail = { refused: 'wrong_current_password' };
      throw new ForbiddenException('the current password is wrong');
    }
    await this.control.auth.setPassword(who.id, body.new_password, bearerOf(req));
  }

  @Post('logout')
  @HttpCode(204)
  @Roles(...READERS)
  @ApiOperation({ summary: 'End the current session (session tokens only)' })
  logout(@Req() req: AuthedRequest): void {
    this.control.auth.logout(bearerOf(req));
  }
}
