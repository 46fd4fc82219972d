// `hunze keys create|list|revoke`. With Postgres the CLI uses KeysService directly (the change reaches
// running replicas through the KeyChangeBus). With the embedded database only the running server may
// open it, so when one is running the CLI goes through its admin API (see src/auth/local-cli-token.ts).
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import type { CreateKeyDto } from '../auth/dto/create-key.dto';
import { CreateKeyDto as CreateKeyDtoClass } from '../auth/dto/create-key.dto';
import type { CreatedKeyResponseDto, KeyResponseDto } from '../auth/dto/key-response.dto';
import { KeysService } from '../auth/keys.service';
import { ApiError } from '../core/errors';
import { BodyValidationPipe } from '../core/validation.pipe';
import type { HunzeConfig } from '../config/hunze-config';
import { integerOption, openAppliance } from './appliance-access';

interface KeyOps {
  create(dto: CreateKeyDto): Promise<CreatedKeyResponseDto>;
  list(): Promise<KeyResponseDto[]>;
  revoke(id: string): Promise<KeyResponseDto>;
  close(): Promise<void>;
}

const OPTIONS = {
  name: { type: 'string' },
  role: { type: 'string' },
  account: { type: 'string' },
  models: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'monthly-tokens': { type: 'string' },
  expires: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function runKeysCommand(
  sub: string | undefined,
  args: string[],
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke')
    throw new Error(`unknown keys command: ${sub ?? ''}`);
  const ops = await openKeyOps(config, context);
  try {
    switch (sub) {
      case 'create': {
        const created = await ops.create(toDto(values));
        if (values.json) return out(JSON.stringify(created, null, 2));
        return out(
          `Created key ${created.id} (${created.role}, account ${created.account ?? '-'}).\n` +
            `This is the only time the key is shown; store it now:\n\n  ${created.key}\n`,
        );
      }
      case 'list': {
        const keys = await ops.list();
        return out(values.json ? JSON.stringify(keys, null, 2) : formatTable(keys));
      }
      case 'revoke': {
        const id = positionals[0];
        if (!id) throw new Error('keys revoke needs the key id');
        const revoked = await ops.revoke(id);
        return out(`Revoked key ${revoked.id} (${revoked.prefix}…, ${revoked.name}).`);
      }
    }
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`${err.toBody().error.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await ops.close();
  }
}

function toDto(values: Partial<Record<keyof typeof OPTIONS, string | boolean>>): CreateKeyDto {
  const plain = {
    name: values.name,
    role: values.role,
    account: values.account,
    models:
      typeof values.models === 'string'
        ? values.models
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean)
        : undefined,
    rpm: integerOption(values.rpm),
    tpm: integerOption(values.tpm),
    monthly_tokens: integerOption(values['monthly-tokens']),
    expires_at: values.expires,
  };
  const defined = Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined));
  if (defined.name === undefined) throw new Error('keys create needs --name');
  return new BodyValidationPipe(CreateKeyDtoClass, true).transform(defined);
}

function openKeyOps(config: HunzeConfig, context: () => Promise<INestApplicationContext>): Promise<KeyOps> {
  return openAppliance<Omit<KeyOps, 'close'>>(config, context, {
    local: (app) => {
      const keys = app.get(KeysService);
      return { create: (dto) => keys.create(dto), list: () => keys.list(), revoke: (id) => keys.revoke(id) };
    },
    remote: (api) => ({
      create: (dto) => api.json('POST', '/keys', dto),
      list: async () => (await api.json<{ data: KeyResponseDto[] }>('GET', '/keys')).data,
      revoke: (id) => api.json('DELETE', `/keys/${encodeURIComponent(id)}`),
    }),
  });
}

function formatTable(keys: KeyResponseDto[]): string {
  const now = Date.now();
  const status = (k: KeyResponseDto) =>
    k.revoked_at ? 'revoked' : k.expires_at && Date.parse(k.expires_at) <= now ? 'expired' : 'active';
  const rows = keys.map((k) => [
    k.id,
    `${k.prefix}…`,
    k.name,
    k.role,
    k.account ?? '-',
    (k.models ?? ['*']).join(','),
    status(k),
    k.created_at,
  ]);
  const header = ['ID', 'PREFIX', 'NAME', 'ROLE', 'ACCOUNT', 'MODELS', 'STATUS', 'CREATED'];
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
