// The guards every route passes, in the order that matters: AuthGuard names the caller (or refuses), then the
// rate limits apply to that caller on the model routes. One guard runs both, so the order is this code's and
// not the order Nest finds global guards in (which follows module imports).
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '../auth/auth.guard';
import { RateLimitGuard } from '../metering/rate-limits/rate-limit.guard';

@Injectable()
export class RequestGuards implements CanActivate {
  constructor(
    @Inject(AuthGuard) private readonly auth: AuthGuard,
    @Inject(RateLimitGuard) private readonly limits: RateLimitGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    return (await this.auth.canActivate(context)) && this.limits.canActivate(context);
  }
}
