// A fake OpenTelemetry collector: OTLP/HTTP JSON on 127.0.0.1, under a base path like a real collector's
// `http://host:4318`, keeping every trace and metric document it receives for the test to inspect.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
export interface OtlpSpan {
  name: string;
  attributes: OtlpAttribute[];
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
}
export interface OtlpPoint {
  attributes: OtlpAttribute[];
  asInt?: string | number;
  asDouble?: number;
}
export interface OtlpMetric {
  name: string;
  sum?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[] };
}

export class FakeOtlpCollector {
  readonly traceBodies: string[] = [];
  readonly metricBodies: string[] = [];
  /** The base URL to configure as telemetry.otlpEndpoint. */
  url = '';
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST' && req.url === `${this.basePath}/v1/traces`) this.traceBodies.push(text);
      else if (req.method === 'POST' && req.url === `${this.basePath}/v1/metrics`)
        this.metricBodies.push(text);
      else return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  private constructor(private readonly basePath: string) {}

  static async start(basePath = '/otlp'): Promise<FakeOtlpCollector> {
    const collector = new FakeOtlpCollector(basePath);
    await new Promise<void>((resolve) => collector.server.listen(0, '127.0.0.1', resolve));
    const { port } = collector.server.address() as AddressInfo;
    collector.url = `http://127.0.0.1:${port}${basePath}`;
    return collector;
  }

  reset(): void {
    this.traceBodies.length = 0;
    this.metricBodies.length = 0;
  }

  spans(): OtlpSpan[] {
    return this.traceBodies.flatMap((b) => {
      const doc = JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      return doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    });
  }

  metrics(): OtlpMetric[] {
    return this.metricBodies.flatMap((b) => {
      const doc = JSON.parse(b) as { resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[] };
      return doc.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** An attribute's value as a plain JS value (OTLP JSON writes integers as strings). */
export function otlpAttribute(item: { attributes: OtlpAttribute[] }, key: string): unknown {
  const v = item.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? v.boolValue ?? (v.intValue === undefined ? v.doubleValue : Number(v.intValue));
}
