// OTLP/HTTP JSON export for traces and metrics through the residency guard. The collector is an
// outbound destination like any upstream: an undici Pool whose connector (residency/residency-connector.ts)
// resolves the host once, checks every address against `telemetry.otlpNetworks` (and the declared country for
// a public address), and connects to exactly the checked address. A refusal opens no socket; it is logged as
// `residency_violation` with upstream `otlp` and published on residencyEvents, which the audit log records.
// The SDK's own exporters are not used because they open their own connections past that guard. Spans are
// written by otlp-span-encoder.ts and posted by span-queue.ts; metrics go through OtlpMetricExporter below.
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import {
  AggregationTemporality,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { Pool } from 'undici';
import { residencyConnector, residencyEvents, type ResidencyHooks } from '../residency/residency-connector';
import type { ResidencyPolicy } from '../residency/residency-guard';
import type { AppLogger } from './logger';

export interface OtlpTarget extends ResidencyPolicy {
  /** The collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT): signals go to /v1/traces and /v1/metrics. */
  endpoint: string;
}

export type OtlpHooks = Pick<ResidencyHooks, 'resolve' | 'geo'> & { timeoutMs?: number };

/** POSTs OTLP JSON documents to the collector, one residency-checked connection pool for both signals. */
export class OtlpSender {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly timeoutMs: number;

  constructor(
    target: OtlpTarget,
    private readonly log: AppLogger,
    hooks: OtlpHooks = {},
  ) {
    const url = new URL(target.endpoint);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = hooks.timeoutMs ?? 10_000;
    this.pool = new Pool(url.origin, {
      connections: 2,
      connect: residencyConnector(
        { id: 'otlp', networks: target.networks, country: target.country },
        {
          timeout: this.timeoutMs,
          resolve: hooks.resolve,
          geo: hooks.geo,
          onViolation: (violation) => {
            log.warn('residency_violation', { ...violation });
            residencyEvents.publish(violation);
          },
        },
      ),
    });
  }

  /** Sends one document; a failure is logged (class and code only) and reported to the SDK, never thrown on. */
  async post(signal: 'traces' | 'metrics', body: Uint8Array): Promise<void> {
    try {
      await this.send(signal, body);
    } catch (err) {
      this.log.warn('otlp_export_failed', {
        signal,
        errorClass: err instanceof Error ? err.name : typeof err,
        errorCode: (err as { code?: string }).code,
      });
      throw err;
    }
  }

  private async send(signal: 'traces' | 'metrics', body: Uint8Array): Promise<void> {
    const res = await this.pool.request({
      method: 'POST',
      path: `${this.basePath}/v1/${signal}`,
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    // A plain Pool follows no redirect: a 3xx is a failed export, never a second destination.
    await res.body.dump(); // the collector's answer is never read, only its status
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new Error(`OTLP collector answered ${res.statusCode}`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function settle(sending: Promise<void>, done: (result: ExportResult) => void): void {
  sending.then(
    () => done({ code: ExportResultCode.SUCCESS }),
    (error: Error) => done({ code: ExportResultCode.FAILED, error }),
  );
}

export class OtlpMetricExporter implements PushMetricExporter {
  constructor(private readonly sender: OtlpSender) {}

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    const body = JsonMetricsSerializer.serializeRequest(metrics);
    if (!body) return done({ code: ExportResultCode.FAILED });
    settle(this.sender.post('metrics', body), done);
  }

  /** Cumulative, as Prometheus-backed collectors expect. */
  selectAggregationTemporality(_instrumentType: InstrumentType): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
