#!/usr/bin/env node
// The bare relay of floor-relay.js written as a NestJS application on the Fastify adapter, as Hunze is: one
// controller route with @Body() and @Res({ passthrough }), no guard, pipe, filter or other feature. Beside
// floor-relay.js it prices what the framework alone adds per request. Not a system under test.
// Usage: node scripts/bench/nest-floor-relay.js <upstream base URL, e.g. http://127.0.0.1:p/v1>
'use strict';
require('reflect-metadata');
const { Controller, Post, Body, Res, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { Pool } = require('undici');

const upstream = new URL(process.argv[2]);
const pool = new Pool(upstream.origin, { connections: 128 });

class RelayController {
  async chat(body, reply) {
    const answer = await pool.request({
      method: 'POST',
      path: `${upstream.pathname}/chat/completions`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    reply.code(answer.statusCode).header('content-type', answer.headers['content-type']);
    return body.stream ? answer.body : answer.body.text();
  }
}
Reflect.decorate([Controller('v1')], RelayController);
const chat = Object.getOwnPropertyDescriptor(RelayController.prototype, 'chat');
Reflect.defineMetadata('design:paramtypes', [Object, Object], RelayController.prototype, 'chat');
Body()(RelayController.prototype, 'chat', 0);
Res({ passthrough: true })(RelayController.prototype, 'chat', 1);
Reflect.decorate([Post('chat/completions')], RelayController.prototype, 'chat', chat);

class RelayModule {}
Reflect.decorate([Module({ controllers: [RelayController] })], RelayModule);

async function main() {
  const app = await NestFactory.create(RelayModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`listening ${await app.getUrl()}\n`);
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
}
main();
