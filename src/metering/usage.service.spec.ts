// The usage report by key: the keys are named after summing (KeysService.labels), and the rows are then ordered
// as PostgreSQL's "C" collation orders them (account, key name, key id; nulls last), as the SQL join did.
import type { KeysService } from '../auth/keys.service';
import type { UsageRecordsRepository, UsageSummaryRow } from './usage-records.repository';
import { UsageService } from './usage.service';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const D = '00000000-0000-4000-8000-00000000000d';

function row(group: string, account: string | null): UsageSummaryRow {
  return {
    group,
    account,
    requests: '1',
    errors: '0',
    prompt_tokens: '2',
    completion_tokens: '3',
    total_tokens: '5',
    audio_seconds: 0,
  };
}

describe('UsageService by key', () => {
  const asked: string[][] = [];
  const records = {
    summary: () =>
      Promise.resolve([
        row('break-glass', null),
        row(D, 'team'),
        row(A, 'team'),
        row(B, 'Team'),
        row(C, 'team'),
      ]),
  } as unknown as UsageRecordsRepository;
  const labels = new Map([
    [A, { name: 'étage', prefix: 'hz-a' }],
    [B, { name: 'b', prefix: 'hz-b' }],
    [C, { name: 'Zed', prefix: 'hz-c' }],
  ]);
  const keys = {
    labels: (ids: string[]) => {
      asked.push(ids);
      return Promise.resolve(labels);
    },
  } as unknown as KeysService;

  it('names each key once and orders by account, name and id in byte order, nulls last', async () => {
    const query = { from: new Date('2026-01-01Z'), to: new Date('2026-02-01Z'), groupBy: 'key' as const };
    const report = await new UsageService(records, keys).report(query);
    expect(asked).toEqual([['break-glass', D, A, B, C]]);
    expect(report.data.map((r) => [r.account, r.key_name, r.key_prefix, r.group])).toEqual([
      ['Team', 'b', 'hz-b', B],
      ['team', 'Zed', 'hz-c', C],
      ['team', 'étage', 'hz-a', A],
      ['team', null, null, D],
      [null, null, null, 'break-glass'],
    ]);
    expect(report.data[0]).toMatchObject({ requests: 1, total_tokens: 5 });
  });
});
