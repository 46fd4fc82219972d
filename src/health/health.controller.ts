import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { Answer } from '../core/answer';
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
  async ready(): Promise<Answer> {
    const database = await this.pingDatabase();
    const upstreams = this.pools.allModelsServed(this.models.all());
    const ok = database && upstreams;
    const checks = { database, upstreams, rateLimits: this.rateLimits.backend() };
    return Answer.json(
      { status: ok ? 'ok' : 'unavailable', checks },
      { status: ok ? 200 : 503, contentType: 'application/json; charset=utf-8' },
    );
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
