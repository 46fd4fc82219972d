// One reading of dates and times in query parameters and bodies: ISO 8601 calendar dates and date-times,
// read in UTC when they carry no offset, in the years 1970 to 9999. A wider range is no use to Hunze and
// reaches places that break on it (PostgreSQL has no year 0; JavaScript stops at +275760).
import { ValidateBy, type ValidationOptions } from 'class-validator';

export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;
export const INSTANT_REASON = `must be an ISO 8601 date or date-time in the years ${MIN_YEAR} to ${MAX_YEAR}`;

/** `YYYY-MM-DD`, or a date-time to the minute, second or fraction, with `Z`, an offset, or none (UTC). */
const DATE_OR_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses one date or date-time as a UTC instant; undefined when it is not a real one in the range. */
export function parseInstant(value: string): Date | undefined {
  const match = DATE_OR_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', zone] = match;
  if (+year! < MIN_YEAR) return undefined;
  const date = new Date(Date.UTC(+year!, +month! - 1, +day!));
  // Date.UTC rolls 2026-02-30 over into March: a date that does not round-trip does not exist.
  if (date.getUTCFullYear() !== +year! || date.getUTCMonth() !== +month! - 1 || date.getUTCDate() !== +day!)
    return undefined;
  if (+hour > 23 || +minute > 59 || +second > 59) return undefined;
  const normalised = value.replace(' ', 'T');
  const withZone = match[4] === undefined ? `${normalised}T00:00:00Z` : zone ? normalised : `${normalised}Z`;
  const time = Date.parse(withZone);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** class-validator decorator; its constraint name `isInstant` is worded by the validation pipe. */
export function IsInstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: { validate: (value) => typeof value === 'string' && parseInstant(value) !== undefined },
    },
    options,
  );
}
