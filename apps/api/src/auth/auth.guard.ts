import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type ControlStore, type Role } from '@citysoc/store';
import { CONTROL_STORE } from '../tokens';
import { type AuthedRequest, PUBLIC_KEY, ROLES_KEY } from './roles';

/** Bearer tokens on every route unless marked @Public; role checks from @Roles. Deny by default. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    try {
      return this.check(req, targets);
    } catch (err) {
      // Refused mutating calls never reach the audit interceptor, so they are recorded here.
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        this.control.audit.append({
          actor: req.principal?.name ?? 'anonymous',
          action: `${req.method} ${ctx.getClass().name}.${ctx.getHandler().name}`,
          target: req.url.split('?')[0] ?? req.url,
          outcome: 'failure',
          detail: { reason: (err as Error).message, ip: req.ip ?? null },
        });
      }
      throw err;
    }
  }

  private check(req: AuthedRequest, targets: Parameters<Reflector['getAllAndOverride']>[1]): boolean {
    const header = req.headers.authorization;
    const token =
      typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw new UnauthorizedException('a bearer token is required');
    const principal = this.control.auth.verify(token);
    if (!principal) throw new UnauthorizedException('invalid or revoked token');
    req.principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    // A route without @Roles is admin-only: forgetting the decorator must not open it up.
    if (principal.role === 'admin') return true;
    if (!roles || !roles.includes(principal.role))
      throw new ForbiddenException(`role ${principal.role} may not do this`);
    return true;
  }
}
