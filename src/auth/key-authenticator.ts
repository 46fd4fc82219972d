// Names the caller from a request's headers alone: the presented key is hashed once, compared with the
// break-glass admin key and the local CLI token, then resolved from the in-process key cache.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { HunzeConfig } from '../config/hunze-config';
import { KeyCache } from './key-cache.service';
import { hashKey, sameDigest } from './key-material';
import { adminPrincipal, BREAK_GLASS_KEY_ID, LOCAL_CLI_KEY_ID, type Principal } from '../core/principal';
import type { KeySource } from '../core/roles.decorator';

/**
 * The local CLI token, when the server wrote one (embedded database only): one per app, set while the app is
 * built by AuthHttpModule.forRoot (./auth-http.module.ts); the CLI's app has none.
 */
export class CliToken {
  value: string | undefined;
}

@Injectable()
export class KeyAuthenticator {
  private readonly secretDigests = new Map<string, string>();

  constructor(
    @Inject(KeyCache) private readonly cache: KeyCache,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(CliToken) private readonly cliToken: CliToken,
  ) {}

  /**
   * The principal of the key the request presents; undefined when none is presented or it is unknown,
   * revoked or expired. Answers without a promise when the key is cached.
   */
  authenticate(
    request: FastifyRequest,
    sources: readonly KeySource[],
  ): Promise<Principal | undefined> | Principal | undefined {
    const presented = presentedKey(request, sources);
    if (!presented) return undefined;
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
