// Usage reports as CSV and as the CLI's table: RFC 4180 quoting, spreadsheet formula injection disarmed,
// the key columns, and a totals line that adds up.
import { csvField, usageToCsv, usageToTable } from './usage-format';
import type { UsageReport, UsageRowDto } from './usage.service';

const row = (group: string | null, n: number, extra: Partial<UsageRowDto> = {}): UsageRowDto => ({
  group,
  requests: n,
  errors: 0,
  prompt_tokens: 10 * n,
  completion_tokens: 20 * n,
  total_tokens: 30 * n,
  audio_seconds: 0,
  ...extra,
});

const report = (group_by: UsageReport['group_by'], data: UsageRowDto[]): UsageReport => ({
  object: 'usage',
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-02-01T00:00:00.000Z',
  group_by,
  data,
});

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['Team A, Sales', '"Team A, Sales"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+31 50', "'+31 50"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['a=b', 'a=b'],
    ['', ''],
  ])('%j -> %s', (input, expected) => expect(csvField(input)).toBe(expected));

  it('writes numbers as they are and null as an empty field', () => {
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(0)).toBe('0');
    expect(csvField(null)).toBe('');
  });
});

describe('usageToCsv', () => {
  it('has a header named after the grouping and CRLF line ends', () => {
    const csv = usageToCsv(report('account', [row('team, "a"', 2), row(null, 1)]));
    expect(csv).toBe(
      'account,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds\r\n' +
        '"team, ""a""",2,0,20,40,60,0\r\n' +
        ',1,0,10,20,30,0\r\n',
    );
  });

  it('gives keys their name, prefix and account', () => {
    const csv = usageToCsv(
      report('key', [
        row('k-1', 1, { key_name: '=cmd', key_prefix: 'hz-abcd', account: 'team-a' }),
        row('break-glass', 1, { key_name: null, key_prefix: null, account: null }),
      ]),
    );
    expect(csv.split('\r\n')).toEqual([
      'key_id,key_name,key_prefix,account,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds',
      "k-1,'=cmd,hz-abcd,team-a,1,0,10,20,30,0",
      'break-glass,,,,1,0,10,20,30,0',
      '',
    ]);
  });

  it('is only a header for an empty report', () => {
    expect(usageToCsv(report('day', []))).toBe(
      'day,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds\r\n',
    );
  });
});

describe('usageToTable', () => {
  it('aligns columns, right-aligns numbers and ends with the totals', () => {
    const table = usageToTable(
      report('model', [
        row('Qwen/Qwen3.6-35B-A3B-FP8', 1500, { errors: 3, audio_seconds: 1.25 }),
        row('e5', 2),
      ]),
    );
    const lines = table.split('\n');
    expect(lines[0]).toBe(
      'Usage by model from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z (exclusive)',
    );
    expect(lines[1]).toBe('');
    expect(lines.slice(2)).toEqual([
      'MODEL                     REQUESTS  ERRORS  PROMPT_TOKENS  COMPLETION_TOKENS  TOTAL_TOKENS  AUDIO_SECONDS',
      'Qwen/Qwen3.6-35B-A3B-FP8     1,500       3         15,000             30,000        45,000           1.25',
      'e5                               2       0             20                 40            60              0',
      'TOTAL                        1,502       3         15,020             30,040        45,060           1.25',
    ]);
  });

  it('shows a missing group as "-" and never passes control characters to the terminal', () => {
    const table = usageToTable(
      report('key', [row('k-1', 1, { key_name: 'evil\u001b[2J', key_prefix: 'hz-a', account: null })]),
    );
    expect(table).not.toContain('\u001b');
    expect(table).toMatch(/k-1 +evil\?\[2J +hz-a +- +1 /);
    expect(table.split('\n').at(-1)).toMatch(/^TOTAL +1 +0 +10 +20 +30 +0$/);
  });
});
