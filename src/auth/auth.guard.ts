// Every request passes here: the caller named from its key (normally already by the early hook, before
// the body was read; see early-auth.ts) is checked against the route's roles. Failures are catalogue
// errors; the key itself is never logged.
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors';
import type { Role } from '../core/roles';
import { KeyAuthenticator } from './key-authenticator';
import { KEY_SOURCES_KEY, PUBLIC_KEY, ROLES_KEY, type KeySource } from '../core/roles.decorator';

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(KeyAuthenticator) private readonly keys: KeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    const sources = this.reflector.getAllAndOverride<KeySource[] | undefined>(KEY_SOURCES_KEY, targets) ?? [];

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = request.principal ?? (await this.keys.authenticate(request, sources));
    if (!principal) throw new ApiError('invalid_api_key');
    if (!roles.includes(principal.role)) throw new ApiError('permission_denied');
    request.principal = principal;
    return true;
  }
}
