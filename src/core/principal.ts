import type {} from 'fastify';
import type { Role } from './roles';

/** Who is calling: what the guard attaches to a request after the key lookup. */
export interface Principal {
  keyId: string;
  role: Role;
  accountId: string | null;
  accountName: string | null;
  /** Model ids or aliases; null = all. */
  allowedModels: readonly string[] | null;
  rpm: number | null;
  tpm: number | null;
  monthlyTokens: number | null;
  /** The account's own limits, shared by all its keys (src/metering/rate-limits). */
  accountRpm: number | null;
  accountTpm: number | null;
  accountMonthlyTokens: number | null;
}

export const BREAK_GLASS_KEY_ID = 'break-glass';
export const LOCAL_CLI_KEY_ID = 'local-cli';

export function adminPrincipal(keyId: string): Principal {
  return {
    keyId,
    role: 'admin',
    accountId: null,
    accountName: null,
    allowedModels: null,
    rpm: null,
    tpm: null,
    monthlyTokens: null,
    accountRpm: null,
    accountTpm: null,
    accountMonthlyTokens: null,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
