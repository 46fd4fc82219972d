// The request series, defined once for both exports: Prometheus (/metrics, metering/metrics.service.ts) and
// OTLP (telemetry/request-metrics.ts). Each export keeps the names, units and buckets its dashboards know;
// what one finished request adds to the series is measured here, once, from its record.
import type { RequestRecord } from './request-record';

export interface PrometheusSeries {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

export interface OtlpSeries {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
}

/** Whole requests: an LLM answer takes from milliseconds (cache, embeddings) to minutes (long generations). */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300] as const;
/** Time to first token: prefill of a prompt, from tens of milliseconds to tens of seconds for long contexts. */
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5, 10, 30] as const;
/** OTLP: one set of seconds-based buckets for request latency and time to first token. */
export const OTLP_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/**
 * The series. OTLP labels every series with the same attributes (telemetry/span-attributes.ts,
 * metricAttributes: route, status, model, upstream, account, error code) and has no error series of its own:
 * its hunze.requests carries the error code.
 */
export const REQUEST_SERIES = {
  requests: {
    prometheus: {
      name: 'hunze_requests_total',
      help: 'Finished requests by route pattern, model, upstream and HTTP status (499: the client went away).',
      labelNames: ['endpoint', 'model', 'upstream', 'status'],
    },
    otlp: { name: 'hunze.requests', description: 'Requests answered.', unit: '' },
  },
  errors: {
    prometheus: {
      name: 'hunze_request_errors_total',
      help: 'Requests that ended in an error, by catalogue code (also errors inside a started stream).',
      labelNames: ['endpoint', 'model', 'code'],
    },
  },
  tokens: {
    prometheus: {
      name: 'hunze_tokens_total',
      help: "Tokens as counted by the upstream's usage report.",
      labelNames: ['model', 'upstream', 'type'],
    },
    otlp: { name: 'hunze.tokens', description: 'Tokens counted by the upstream.', unit: '' },
  },
  duration: {
    prometheus: {
      name: 'hunze_request_duration_seconds',
      help: 'Time from the request to the end of its response.',
      labelNames: ['endpoint', 'model', 'upstream'],
      buckets: DURATION_BUCKETS,
    },
    otlp: {
      name: 'hunze.request.duration',
      description: 'Time from request to the end of the response.',
      unit: 's',
    },
  },
  ttft: {
    // Prometheus: streams only. A non-stream answer's first token arrives with the whole answer.
    prometheus: {
      name: 'hunze_time_to_first_token_seconds',
      help: 'Streamed requests: time from the request to the first event relayed to the client.',
      labelNames: ['model', 'upstream'],
      buckets: TTFT_BUCKETS,
    },
    otlp: {
      name: 'hunze.time_to_first_token',
      description: 'Time from request to the first streamed token.',
      unit: 's',
    },
  },
} as const satisfies Record<string, { prometheus: PrometheusSeries; otlp?: OtlpSeries }>;

/** What one finished request adds to the request series. */
export interface RequestMeasurement {
  /** The catalogue code it ended in, or `client_closed` for a 499 without one; undefined if none. */
  readonly errorCode: string | undefined;
  /** Tokens as the upstream counted them; 0 when it reported none (nothing is added). */
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly durationSeconds: number;
  /** Undefined when no first token was timed. */
  readonly ttftSeconds: number | undefined;
}

export function measure(record: RequestRecord): RequestMeasurement {
  return {
    errorCode: record.errorCode ?? (record.status === 499 ? 'client_closed' : undefined),
    promptTokens: positive(record.promptTokens),
    completionTokens: positive(record.completionTokens),
    durationSeconds: record.latencyMs / 1000,
    ttftSeconds: record.ttftMs === undefined ? undefined : record.ttftMs / 1000,
  };
}

/** Zero, NaN and negative counts add nothing (a counter only goes up). */
function positive(n: number | undefined): number {
  return n !== undefined && n > 0 ? n : 0;
}
