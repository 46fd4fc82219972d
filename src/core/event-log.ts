// The logging interface of the layers below telemetry: they log warnings through it, and the caller hands
// them the one AppLogger (src/telemetry/logger.ts), which implements it.

/** Fields of a log event: our own values only (ids, names from config, numbers, codes). */
export type EventFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface WarnLog {
  warn(evt: string, fields?: EventFields): void;
}
