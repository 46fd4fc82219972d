// Registers @fastify/multipart, which gives Fastify a multipart/form-data content-type parser that leaves the
// body unread, and `req.parts()` to stream it (used by the audio endpoints). Nothing is written to disk:
// only the stream API is used, never saveRequestFiles.
import fastifyMultipart from '@fastify/multipart';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

@Injectable()
export class MultipartSetup implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // no HTTP server (CLI)
    // Per-request limits are set where the parts are read (AudioUpload); none are decided here.
    await fastify.register(fastifyMultipart, { throwFileSizeLimit: true });
  }
}
