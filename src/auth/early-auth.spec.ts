// The onRequest check without an app: route policies stamped from the real decorators onto real controller
// classes (read through a stand-in for the two things it asks the app for, the Reflector and the module
// container), then the check run on plain request objects carrying that route config, with a real
// KeyAuthenticator over a real KeyCache filled from an in-memory key table.
import 'reflect-metadata';
import { Controller, Get, Post, type INestApplication } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyRequest } from 'fastify';
import type { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { earlyAuthCheck, stampRouteAuthPolicies } from './early-auth';
import { KeyAuthenticator } from './key-authenticator';
import { KeyCache } from './key-cache.service';
import { LocalKeyChangeBus } from './key-changes/local-key-change-bus';
import type { KeysService } from './keys.service';
import { apiKeyRow } from '../../test/helpers/api-key-row';
import { AlsoAcceptKeyFrom, Public, Roles } from '../core/roles.decorator';

@Controller('v1')
@Roles('user')
class ChatController {
  @Post('chat') chat(): void {}
  @Public() @Get('ping') ping(): void {}
  helper(): void {} // not a route
}

@Controller('v1beta')
@Roles('user')
@AlsoAcceptKeyFrom('x-goog-api-key')
class GeminiController {
  @Post('generate') generate(): void {}
}

const row = apiKeyRow('k1');

const caches: KeyCache[] = [];
afterEach(async () => Promise.all(caches.splice(0).map((c) => c.beforeApplicationShutdown())));

async function app(): Promise<INestApplication> {
  const keys = {
    findAll: async () => [row],
    findById: async () => row,
    findByHash: async (hash: string) => (hash === row.keyHash ? row : null),
  } as unknown as KeysService;
  const cache = new KeyCache(keys, new LocalKeyChangeBus(), new AppLogger('fatal'));
  caches.push(cache);
  await cache.onApplicationBootstrap();
  const config = { file: { auth: {} } } as unknown as HunzeConfig;
  const authenticator = new KeyAuthenticator(cache, config, { value: undefined });
  const controllers = [ChatController, GeminiController, null].map(
    (metatype, i) => [`c${i}`, { metatype }] as const,
  );
  const modules = new Map([['m', { controllers: new Map(controllers) }]]);
  const provided = new Map<unknown, unknown>([
    [Reflector, new Reflector()],
    [ModulesContainer, modules],
    [KeyAuthenticator, authenticator],
  ]);
  return { get: (token: unknown) => provided.get(token) } as unknown as INestApplication;
}

const routeConfig = (controller: object, name: string): unknown =>
  Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, (controller as Record<string, object>)[name]!);

function request(config: unknown, headers: Record<string, string> = {}): FastifyRequest {
  return { headers, query: {}, routeOptions: { config } } as unknown as FastifyRequest;
}

describe('early authentication', () => {
  let check: ReturnType<typeof earlyAuthCheck>;
  beforeAll(async () => {
    const nest = await app();
    stampRouteAuthPolicies(nest);
    check = earlyAuthCheck(nest);
  });

  it('stamps each route handler with its effective policy and leaves other methods alone', () => {
    expect(routeConfig(ChatController.prototype, 'chat')).toEqual({
      authPolicy: { public: false, sources: [] },
    });
    expect(routeConfig(ChatController.prototype, 'ping')).toEqual({
      authPolicy: { public: true, sources: [] },
    });
    expect(routeConfig(GeminiController.prototype, 'generate')).toEqual({
      authPolicy: { public: false, sources: ['x-goog-api-key'] },
    });
    expect(routeConfig(ChatController.prototype, 'helper')).toBeUndefined();
  });

  it('answers invalid_api_key before the body for a keyed route without a valid key', async () => {
    const chat = routeConfig(ChatController.prototype, 'chat');
    const presented: Record<string, string>[] = [
      {},
      { authorization: 'Bearer hz-wrong' },
      { 'x-goog-api-key': 'hz-k1' },
    ];
    for (const headers of presented) {
      const req = request(chat, headers);
      expect(await check(req)).toMatchObject({ code: 'invalid_api_key' });
      expect(req.principal).toBeUndefined();
    }
  });

  it('attaches the principal of a valid key and goes on', async () => {
    const req = request(routeConfig(ChatController.prototype, 'chat'), { authorization: 'Bearer hz-k1' });
    expect(await check(req)).toBeUndefined();
    expect(req.principal).toMatchObject({ keyId: 'k1', role: 'user' });
  });

  it('takes the key from the extra sources the route accepts', async () => {
    const req = request(routeConfig(GeminiController.prototype, 'generate'), { 'x-goog-api-key': 'hz-k1' });
    expect(await check(req)).toBeUndefined();
    expect(req.principal).toMatchObject({ keyId: 'k1' });
  });

  it('does not look at keys on public routes or on routes it knows nothing about (404s)', async () => {
    const publicRoute = request(routeConfig(ChatController.prototype, 'ping'), {
      authorization: 'Bearer hz-k1',
    });
    expect(await check(publicRoute)).toBeUndefined();
    expect(publicRoute.principal).toBeUndefined();
    expect(await check(request(undefined))).toBeUndefined();
  });
});
