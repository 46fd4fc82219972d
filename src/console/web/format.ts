// Display formats. Times are shown in UTC (as the API and the reports state them), numbers grouped.

const numbers = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 3 });

export function num(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : numbers.format(value);
}

/** `2026-01-05 14:03 UTC`. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `YYYY-MM-DD` of a Date in UTC. */
export function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(isoDay: string, days: number): string {
  const date = new Date(`${isoDay}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return day(date);
}

/** Every day from `from` to `to`, both inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to && days.length <= 400; d = addDays(d, 1)) days.push(d);
  return days;
}

/** An optional positive integer field: empty is null. */
export function optionalInt(input: HTMLInputElement): number | null {
  const text = input.value.trim();
  return text === '' ? null : Number(text);
}
