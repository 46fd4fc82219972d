// Authentication from the headers alone, in Fastify's onRequest hook: a request for a route that needs a
// key and does not present a valid one is answered 401 before a byte of its body is read, so an anonymous
// client cannot make the appliance buffer (or wait for) a large upload. The principal found here is what
// AuthGuard checks the route's roles against later; the key is hashed and looked up once per request.
import type { INestApplication, Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors';
import type { EarlyCheck } from '../core/http-contracts';
import { KeyAuthenticator } from './key-authenticator';
import type { Principal } from '../core/principal';
import { KEY_SOURCES_KEY, PUBLIC_KEY, type KeySource } from '../core/roles.decorator';

/** What the early hook needs to know about a route, kept in its Fastify route config. */
interface RouteAuthPolicy {
  public: boolean;
  sources: readonly KeySource[];
}

interface PolicyConfig {
  authPolicy?: RouteAuthPolicy;
}

/**
 * Copies each handler's effective policy (@Public, @AlsoAcceptKeyFrom on the method or its controller) into
 * the Fastify route config Nest registers with the route. Must run before `app.init()` registers routes.
 */
export function stampRouteAuthPolicies(app: INestApplication): void {
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller?.prototype) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function' || !Reflect.hasMetadata(PATH_METADATA, handler)) continue;
        const targets = [handler, controller];
        const policy: RouteAuthPolicy = {
          public: reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true,
          sources: reflector.getAllAndOverride<KeySource[] | undefined>(KEY_SOURCES_KEY, targets) ?? [],
        };
        const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as object;
        Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, authPolicy: policy }, handler);
      }
    }
  }
}

/** The onRequest check: undefined to go on (principal attached, or a public or unknown route). */
export function earlyAuthCheck(app: INestApplication): EarlyCheck {
  const keys = app.get(KeyAuthenticator);
  return (req) => {
    const policy = (req.routeOptions.config as PolicyConfig | undefined)?.authPolicy;
    if (!policy || policy.public) return undefined;
    const found = keys.authenticate(req, policy.sources);
    return found instanceof Promise ? found.then((p) => attach(req, p)) : attach(req, found);
  };
}

function attach(req: FastifyRequest, principal: Principal | undefined): ApiError | undefined {
  if (!principal) return new ApiError('invalid_api_key');
  req.principal = principal;
  return undefined;
}
