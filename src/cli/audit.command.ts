// `hunze audit verify` and `hunze audit export [--format jsonl]`. Like `hunze keys`: with Postgres (or an
// embedded database no server has open) the CLI uses AuditService directly; with the embedded database and
// a running server it goes through the server's admin API (GET /admin/v1/audit, /admin/v1/audit/verify).
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { describeBreak } from '../audit/audit-chain';
import { AuditService, toAuditDto, type AuditEventDto, type VerifyResult } from '../audit/audit.service';
import type { HunzeConfig } from '../config/hunze-config';
import { openAppliance } from './appliance-access';

interface AuditOps {
  verify(): Promise<VerifyResult>;
  /** Every row in seq order. */
  rows(): AsyncGenerator<AuditEventDto>;
  close(): Promise<void>;
}

const OPTIONS = { format: { type: 'string' }, json: { type: 'boolean' } } as const;
const PAGE = 1000;

export async function runAuditCommand(
  sub: string | undefined,
  args: string[],
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  if (sub !== 'verify' && sub !== 'export') throw new Error(`unknown audit command: ${sub ?? ''}`);
  if (sub === 'export' && (values.format ?? 'jsonl') !== 'jsonl')
    throw new Error(`unsupported export format: ${values.format}; use --format jsonl`);
  const ops = await openAuditOps(config, context);
  try {
    if (sub === 'verify') {
      const result = await ops.verify();
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.firstBroken)
        process.stdout.write(`audit chain BROKEN at ${describeBreak(result.firstBroken)}\n`);
      else
        process.stdout.write(
          `audit chain valid: ${result.checked} rows checked from seq ${result.anchor_seq + 1}\n`,
        );
      return result.valid ? 0 : 1;
    }
    for await (const row of ops.rows()) {
      if (!process.stdout.write(`${JSON.stringify(row)}\n`))
        await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
    return 0;
  } finally {
    await ops.close();
  }
}

function openAuditOps(
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<AuditOps> {
  return openAppliance<Omit<AuditOps, 'close'>>(config, context, {
    local: (app) => {
      const audit = app.get(AuditService);
      return {
        verify: () => audit.verify(),
        rows: async function* () {
          for await (const row of audit.all()) yield toAuditDto(row);
        },
      };
    },
    remote: (api) => ({
      verify: () => api.json<VerifyResult>('GET', '/audit/verify'),
      rows: async function* () {
        let after = 0;
        for (;;) {
          const page = await api.json<{ data: AuditEventDto[]; has_more: boolean }>(
            'GET',
            `/audit?limit=${PAGE}&after=${after}`,
          );
          yield* page.data;
          const last = page.data[page.data.length - 1];
          if (!page.has_more || !last) return;
          after = last.seq;
        }
      },
    }),
  });
}
