// `hunze accounts list|set`. Like `hunze keys`: with Postgres the CLI uses AccountsService directly (running
// replicas hear of the change through the KeyChangeBus); with the embedded database and a running server it
// goes through the server's admin API (see src/auth/local-cli-token.ts).
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { AccountsService } from '../auth/accounts.service';
import type { AccountResponseDto } from '../auth/dto/account-response.dto';
import { SetAccountLimitsDto } from '../auth/dto/set-account-limits.dto';
import { ApiError } from '../core/errors';
import { BodyValidationPipe } from '../core/validation.pipe';
import type { HunzeConfig } from '../config/hunze-config';
import { integerOption, openAppliance } from './appliance-access';

interface AccountOps {
  list(): Promise<AccountResponseDto[]>;
  setLimits(name: string, dto: SetAccountLimitsDto): Promise<AccountResponseDto>;
  close(): Promise<void>;
}

const OPTIONS = {
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'monthly-tokens': { type: 'string' },
  clear: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function runAccountsCommand(
  sub: string | undefined,
  args: string[],
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (sub !== 'list' && sub !== 'set') throw new Error(`unknown accounts command: ${sub ?? ''}`);
  const name = positionals[0];
  if (sub === 'set' && !name) throw new Error('accounts set needs the account name');
  let ops: AccountOps | undefined;
  try {
    // Bad input is refused before anything opens the database.
    const dto = sub === 'set' ? toDto(values) : undefined;
    ops = await openAccountOps(config, context);
    if (sub === 'list') {
      const accounts = await ops.list();
      return out(values.json ? JSON.stringify(accounts, null, 2) : formatTable(accounts));
    }
    const account = await ops.setLimits(name!, dto!);
    if (values.json) return out(JSON.stringify(account, null, 2));
    return out(`Account ${account.name}: ${describeLimits(account)}.`);
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`${err.toBody().error.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await ops?.close();
  }
}

/** `--clear` sets every limit not given to null; without it, limits not given keep their value. */
function toDto(values: Partial<Record<keyof typeof OPTIONS, string | boolean>>): SetAccountLimitsDto {
  const cleared = values.clear ? null : undefined;
  const plain = {
    rpm: integerOption(values.rpm) ?? cleared,
    tpm: integerOption(values.tpm) ?? cleared,
    monthly_tokens: integerOption(values['monthly-tokens']) ?? cleared,
  };
  const defined = Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined));
  return new BodyValidationPipe(SetAccountLimitsDto, true).transform(defined);
}

function openAccountOps(
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<AccountOps> {
  return openAppliance<Omit<AccountOps, 'close'>>(config, context, {
    local: (app) => {
      const accounts = app.get(AccountsService);
      return { list: () => accounts.list(), setLimits: (name, dto) => accounts.setLimits(name, dto) };
    },
    remote: (api) => ({
      list: async () => (await api.json<{ data: AccountResponseDto[] }>('GET', '/accounts')).data,
      setLimits: (name, dto) => api.json('PUT', `/accounts/${encodeURIComponent(name)}`, dto),
    }),
  });
}

function describeLimits(a: AccountResponseDto): string {
  const limits = [
    a.rpm === null ? '' : `${a.rpm} requests/min`,
    a.tpm === null ? '' : `${a.tpm} tokens/min`,
    a.monthly_tokens === null ? '' : `${a.monthly_tokens} tokens/month`,
  ].filter(Boolean);
  return limits.length ? limits.join(', ') : 'no limits';
}

function formatTable(accounts: AccountResponseDto[]): string {
  const limit = (v: number | null) => (v === null ? '-' : String(v));
  const rows = accounts.map((a) => [
    a.name,
    limit(a.rpm),
    limit(a.tpm),
    limit(a.monthly_tokens),
    String(a.active_keys),
    a.created_at,
  ]);
  const header = ['NAME', 'RPM', 'TPM', 'MONTHLY_TOKENS', 'KEYS', 'CREATED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function out(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
