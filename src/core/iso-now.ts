// The current time as `new Date().toISOString()` writes it, without formatting a date on every call: V8 formats
// it in C++ (the dearest step of a request's record). The text up to the milliseconds is kept for the current
// second; a call within it only appends the milliseconds. Any step of the clock, backwards too, starts over.

/** `000Z` to `999Z`: the end of an ISO instant. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z`);

let secondStart = NaN;
/** `YYYY-MM-DDTHH:mm:ss.` of the second from `secondStart`. */
let secondText = '';

/** `new Date(now).toISOString()`, for now in milliseconds since the epoch (an integer, as Date.now() gives). */
export function isoNow(now: number = Date.now()): string {
  const ms = now - secondStart;
  if (ms >= 0 && ms < 1000) return secondText + MILLIS[ms]!;
  const iso = new Date(now).toISOString();
  secondStart = now - (((now % 1000) + 1000) % 1000);
  secondText = iso.slice(0, -4);
  return iso;
}
