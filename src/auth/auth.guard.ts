// Every request passes here: the key is read from its header, resolved from the in-process cache and
// checked against the route's roles. Failures are catalogue errors; the key itself is never logged.
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors';
import { HunzeConfig } from '../config/hunze-config';
import type { Role } from './entities/api-key.entity';
import { KeyCache } from './key-cache.service';
import { hashKey, sameDigest } from './key-material';
import { adminPrincipal, BREAK_GLASS_KEY_ID, LOCAL_CLI_KEY_ID, type Principal } from './principal';
import { KEY_SOURCES_KEY, PUBLIC_KEY, ROLES_KEY, type KeySource } from './roles.decorator';

/** The local CLI token, when the server wrote one (embedded database only). */
export abstract class CliToken {
  abstract readonly value: string | undefined;
}

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly secretDigests = new Map<string, string>();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(KeyCache) private readonly cache: KeyCache,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(CliToken) private readonly cliToken: CliToken,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    const sources = this.reflector.getAllAndOverride<KeySource[] | undefined>(KEY_SOURCES_KEY, targets) ?? [];

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = presentedKey(request, sources);
    if (!presented) throw new ApiError('invalid_api_key');
    const principal = await this.authenticate(presented);
    if (!principal) throw new ApiError('invalid_api_key');
    if (!roles.includes(principal.role)) throw new ApiError('permission_denied');
    request.principal = principal;
    return true;
  }

  /** The presented key is hashed once: that digest is compared with the admin and CLI secrets' and looked up. */
  private authenticate(presented: string): Promise<Principal | undefined> | Principal | undefined {
    const digest = hashKey(presented);
    const adminKey = this.config.file.auth.adminKey;
    if (adminKey && sameDigest(digest, this.digestOf(adminKey))) return adminPrincipal(BREAK_GLASS_KEY_ID);
    const cli = this.cliToken.value;
    if (cli && sameDigest(digest, this.digestOf(cli))) return adminPrincipal(LOCAL_CLI_KEY_ID);
    return this.cache.authenticateDigest(digest);
  }

  /** The admin key and CLI token are fixed for the process's life; their digests are computed once each. */
  private digestOf(secret: string): string {
    let digest = this.secretDigests.get(secret);
    if (!digest) {
      digest = hashKey(secret);
      this.secretDigests.set(secret, digest);
    }
    return digest;
  }
}

function presentedKey(request: FastifyRequest, sources: readonly KeySource[]): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  if (sources.includes('x-goog-api-key')) {
    const google = request.headers['x-goog-api-key'];
    if (typeof google === 'string' && google) return google;
  }
  if (sources.includes('query-key')) {
    const key = (request.query as Record<string, unknown> | undefined)?.key;
    if (typeof key === 'string' && key) return key;
  }
  return undefined;
}
