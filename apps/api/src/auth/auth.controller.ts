import {
  Body,
  Controller,
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
import { type ControlStore } from '@citysoc/store';
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

export class LoginResponse {
  @ApiProperty({ description: 'Session token: send as `Authorization: Bearer …`' })
  token!: string;
  @ApiProperty({ format: 'date-time' })
  expires_at!: string;
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

  @Post('logout')
  @HttpCode(204)
  @Roles(...READERS)
  @ApiOperation({ summary: 'End the current session (session tokens only)' })
  logout(@Req() req: AuthedRequest): void {
    const header = req.headers.authorization;
    const token = typeof header === 'string' ? header.slice(7).trim() : '';
    this.control.auth.logout(token);
  }
}
