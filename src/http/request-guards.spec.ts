// The order of the guards is the code's: authentication first, the rate limits only for a caller it let in.
import type { ExecutionContext } from '@nestjs/common';
import type { AuthGuard } from '../auth/auth.guard';
import type { RateLimitGuard } from '../metering/rate-limits/rate-limit.guard';
import { RequestGuards } from './request-guards';

function guards(auth: () => Promise<boolean>) {
  const calls: string[] = [];
  const authGuard = {
    canActivate: async () => {
      calls.push('auth');
      return auth();
    },
  } as unknown as AuthGuard;
  const limitGuard = {
    canActivate: () => {
      calls.push('limits');
      return true;
    },
  } as unknown as RateLimitGuard;
  return { calls, guard: new RequestGuards(authGuard, limitGuard) };
}

const context = {} as ExecutionContext;

describe('RequestGuards', () => {
  it('checks the caller, then the limits', async () => {
    const { calls, guard } = guards(async () => true);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(calls).toEqual(['auth', 'limits']);
  });

  it('never counts a request against a limit when authentication refuses it', async () => {
    const refused = guards(async () => {
      throw new Error('invalid_api_key');
    });
    await expect(refused.guard.canActivate(context)).rejects.toThrow('invalid_api_key');
    expect(refused.calls).toEqual(['auth']);
    const denied = guards(async () => false);
    await expect(denied.guard.canActivate(context)).resolves.toBe(false);
    expect(denied.calls).toEqual(['auth']);
  });
});
