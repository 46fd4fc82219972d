import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { Public } from '../core/roles.decorator';
import { UpstreamPools } from '../upstream/upstream-pools.service';
import { RateLimits } from '../metering/rate-limits/rate-limits.service';
import { ModelRegistry } from '../models/model-registry.service';

// Generous: a readiness probe that flaps under load would take a healthy replica out of rotation.
const DB_PING_TIMEOUT_MS = 3_000;

@Controller()
@Public()
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(UpstreamPools) private readonly pools: UpstreamPools,
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(RateLimits) private readonly rateLimits: RateLimits,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: the database answers and every model has a healthy upstream. `rateLimits` only informs: a
   * replica whose Redis is down enforces its local limits and stays ready.
   */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const database = await this.pingDatabase();
    const upstreams = this.pools.allModelsServed(this.models.all());
    const ok = database && upstreams;
    await reply.status(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      checks: { database, upstreams, rateLimits: this.rateLimits.backend() },
    });
  }

  private async pingDatabase(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(false), DB_PING_TIMEOUT_MS)),
    );
    try {
      return await Promise.race([this.dataSource.query('SELECT 1').then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
