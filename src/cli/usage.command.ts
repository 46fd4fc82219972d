// `hunze usage [--from D] [--to D] [--group-by model|key|account|day] [--format table|csv|json]`. Like
// `hunze keys`: with Postgres (or an embedded database no server has open) the CLI sums usage_records itself
// through UsageService; with the embedded database and a running server it asks GET /admin/v1/usage.
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { ApiError } from '../core/errors';
import type { HunzeConfig } from '../config/hunze-config';
import { USAGE_GROUPS } from '../metering/dto/usage-query.dto';
import { usageToCsv, usageToTable } from '../metering/usage-format';
import { resolveUsageQuery, validateUsageQuery, type UsageQuery } from '../metering/usage-query';
import { UsageService, type UsageReport } from '../metering/usage.service';
import { openAppliance } from './appliance-access';

const OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  'group-by': { type: 'string' },
  format: { type: 'string' },
} as const;

const FORMATS = ['table', 'csv', 'json'] as const;
type CliFormat = (typeof FORMATS)[number];

interface UsageSource {
  report(query: UsageQuery): Promise<UsageReport>;
  close(): Promise<void>;
}

export async function runUsageCommand(
  args: string[],
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  const format = (values.format ?? 'table') as CliFormat;
  if (!FORMATS.includes(format)) return fail(`--format must be one of ${FORMATS.join(', ')}`);
  let query: UsageQuery;
  try {
    // The API's own checks, so the CLI and GET /admin/v1/usage accept and refuse the same values.
    const dto = validateUsageQuery(
      Object.fromEntries(
        Object.entries({ from: values.from, to: values.to, group_by: values['group-by'] }).filter(
          ([, v]) => v !== undefined,
        ),
      ),
    );
    query = resolveUsageQuery(dto);
  } catch (err) {
    if (err instanceof ApiError) return fail(cliMessage(err));
    throw err;
  }
  const source = await openUsageSource(config, context);
  try {
    const report = await source.report(query);
    const text =
      format === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : format === 'csv'
          ? usageToCsv(report)
          : `${usageToTable(report)}\n`;
    process.stdout.write(text);
    return 0;
  } finally {
    await source.close();
  }
}

/** The API names query parameters; the CLI's user typed options. */
function cliMessage(err: ApiError): string {
  const option = err.param === 'group_by' ? '--group-by' : err.param ? `--${err.param}` : '';
  const message = err.toBody().error.message;
  const accepted = err.param === 'group_by' ? ` (${USAGE_GROUPS.join(', ')})` : '';
  return option ? message.replace(`for ${err.param}`, `for ${option}`) + accepted : message;
}

function openUsageSource(
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<UsageSource> {
  return openAppliance<Omit<UsageSource, 'close'>>(config, context, {
    local: (app) => {
      const usage = app.get(UsageService);
      return { report: (query) => usage.report(query) };
    },
    remote: (api) => ({
      report: (query) => {
        const params = new URLSearchParams({
          from: query.from.toISOString(),
          to: query.to.toISOString(),
          group_by: query.groupBy,
          format: 'json',
        });
        return api.json<UsageReport>('GET', `/usage?${params.toString()}`);
      },
    }),
  });
}

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 1;
}
