// The guard with the real Reflector reading the real decorators, and a real KeyAuthenticator over a real
// KeyCache filled from an in-memory key table (no database): public routes, missing or bad keys, roles,
// and where a key may be presented.
import 'reflect-metadata';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors';
import type { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { AuthGuard } from './auth.guard';
import type { ApiKeyEntity } from './entities/api-key.entity';
import type { Role } from '../core/roles';
import { KeyAuthenticator } from './key-authenticator';
import { KeyCache } from './key-cache.service';
import { LocalKeyChangeBus } from './key-changes/local-key-change-bus';
import { apiKeyRow } from '../../test/helpers/api-key-row';
import type { KeysService } from './keys.service';
import { adminPrincipal, BREAK_GLASS_KEY_ID, LOCAL_CLI_KEY_ID } from '../core/principal';
import { AlsoAcceptKeyFrom, Public, Roles } from '../core/roles.decorator';

const ADMIN_KEY = 'break-glass-admin-key-0123456789';
const CLI_TOKEN = 'local-cli-token-0123456789';

const keyRow = (id: string, role: Role, extra: Partial<ApiKeyEntity> = {}) =>
  apiKeyRow(id, { role, ...extra });

const rows = [
  keyRow('user1', 'user'),
  keyRow('dpo1', 'dpo'),
  keyRow('revoked', 'user', { revokedAt: new Date() }),
  keyRow('expired', 'user', { expiresAt: new Date(Date.now() - 60_000) }),
];

@Roles('user', 'admin')
class ChatController {
  create(): void {}
  @Roles('admin', 'dpo') audit(): void {}
  @Public() health(): void {}
}

@Roles('user', 'admin')
@AlsoAcceptKeyFrom('x-goog-api-key', 'query-key')
class GeminiController {
  generate(): void {}
}

@Public()
class ProbeController {
  live(): void {}
}

class ForgottenController {
  unguarded(): void {}
}

function context(controller: new () => object, handler: string, request: Partial<FastifyRequest>) {
  const method = (controller.prototype as Record<string, () => void>)[handler]!;
  return {
    getHandler: () => method,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

const request = (headers: Record<string, string> = {}, query: Record<string, string> = {}) =>
  ({ headers, query }) as unknown as FastifyRequest;
const bearer = (key: string) => request({ authorization: `Bearer ${key}` });

const caches: KeyCache[] = [];
afterEach(async () => Promise.all(caches.splice(0).map((c) => c.beforeApplicationShutdown())));

async function guard() {
  const lookups = { byHash: 0 };
  const keys = {
    findAll: async () => rows,
    findById: async (id: string) => rows.find((r) => r.id === id) ?? null,
    findByHash: async (hash: string) => (lookups.byHash++, rows.find((r) => r.keyHash === hash) ?? null),
  } as unknown as KeysService;
  const cache = new KeyCache(keys, new LocalKeyChangeBus(), new AppLogger('fatal'));
  caches.push(cache);
  await cache.onApplicationBootstrap();
  const config = { file: { auth: { adminKey: ADMIN_KEY } } } as unknown as HunzeConfig;
  const authenticator = new KeyAuthenticator(cache, config, { value: CLI_TOKEN });
  return { guard: new AuthGuard(new Reflector(), authenticator), lookups };
}

/** The code of the ApiError the guard throws; fails the test when it lets the request through. */
async function refusal(promise: Promise<boolean>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return (err as ApiError).code;
}

describe('AuthGuard', () => {
  it('lets public handlers and public controllers through without a key', async () => {
    const { guard: g } = await guard();
    await expect(g.canActivate(context(ChatController, 'health', request()))).resolves.toBe(true);
    await expect(g.canActivate(context(ProbeController, 'live', request()))).resolves.toBe(true);
  });

  it('refuses a missing, malformed, unknown, revoked or expired key with invalid_api_key', async () => {
    const { guard: g } = await guard();
    const presented = [
      request(),
      request({ authorization: 'Basic dXNlcjE6' }),
      request({ authorization: 'Bearer' }),
      bearer('hz-nobody'),
      bearer('hz-revoked'),
      bearer('hz-expired'),
    ];
    for (const req of presented) {
      expect(await refusal(g.canActivate(context(ChatController, 'create', req)))).toBe('invalid_api_key');
      expect(req.principal).toBeUndefined();
    }
  });

  it('admits a key whose role the route allows and attaches its principal', async () => {
    const { guard: g } = await guard();
    const req = bearer('hz-user1');
    await expect(g.canActivate(context(ChatController, 'create', req))).resolves.toBe(true);
    expect(req.principal).toMatchObject({ keyId: 'user1', role: 'user', accountId: 'acc' });
    const lowerCase = request({ authorization: 'bearer hz-user1 ' });
    await expect(g.canActivate(context(ChatController, 'create', lowerCase))).resolves.toBe(true);
  });

  it('refuses a valid key whose role the route does not allow with permission_denied', async () => {
    const { guard: g } = await guard();
    expect(await refusal(g.canActivate(context(ChatController, 'create', bearer('hz-dpo1'))))).toBe(
      'permission_denied',
    );
    // The handler's @Roles replaces the controller's: dpo in, user out.
    await expect(g.canActivate(context(ChatController, 'audit', bearer('hz-dpo1')))).resolves.toBe(true);
    expect(await refusal(g.canActivate(context(ChatController, 'audit', bearer('hz-user1'))))).toBe(
      'permission_denied',
    );
  });

  it('refuses every key on a route with neither @Roles nor @Public, the admin key too', async () => {
    const { guard: g } = await guard();
    expect(await refusal(g.canActivate(context(ForgottenController, 'unguarded', bearer(ADMIN_KEY))))).toBe(
      'permission_denied',
    );
  });

  it('names the break-glass key and the local CLI token as admins', async () => {
    const { guard: g } = await guard();
    const admin = bearer(ADMIN_KEY);
    const cli = bearer(CLI_TOKEN);
    await expect(g.canActivate(context(ChatController, 'audit', admin))).resolves.toBe(true);
    await expect(g.canActivate(context(ChatController, 'audit', cli))).resolves.toBe(true);
    expect(admin.principal).toEqual(adminPrincipal(BREAK_GLASS_KEY_ID));
    expect(cli.principal).toEqual(adminPrincipal(LOCAL_CLI_KEY_ID));
  });

  it('reads x-goog-api-key and ?key= only on routes that accept them', async () => {
    const { guard: g } = await guard();
    const viaGoogle = () => request({ 'x-goog-api-key': 'hz-user1' });
    const viaQuery = () => request({}, { key: 'hz-user1' });
    await expect(g.canActivate(context(GeminiController, 'generate', viaGoogle()))).resolves.toBe(true);
    await expect(g.canActivate(context(GeminiController, 'generate', viaQuery()))).resolves.toBe(true);
    expect(await refusal(g.canActivate(context(ChatController, 'create', viaGoogle())))).toBe(
      'invalid_api_key',
    );
    expect(await refusal(g.canActivate(context(ChatController, 'create', viaQuery())))).toBe(
      'invalid_api_key',
    );
  });

  it('lets an Authorization header decide, even when another source holds a valid key', async () => {
    const { guard: g } = await guard();
    for (const authorization of ['Bearer hz-nobody', 'Basic aHotdXNlcjE=']) {
      const both = request({ authorization, 'x-goog-api-key': 'hz-user1' }, { key: 'hz-user1' });
      expect(await refusal(g.canActivate(context(GeminiController, 'generate', both)))).toBe(
        'invalid_api_key',
      );
    }
  });

  it('checks the roles of a principal the early hook attached, without looking the key up again', async () => {
    const { guard: g, lookups } = await guard();
    const early = request();
    early.principal = { ...adminPrincipal('k-early'), role: 'dpo' };
    await expect(g.canActivate(context(ChatController, 'audit', early))).resolves.toBe(true);
    expect(await refusal(g.canActivate(context(ChatController, 'create', early)))).toBe('permission_denied');
    expect(lookups.byHash).toBe(0);
  });
});
