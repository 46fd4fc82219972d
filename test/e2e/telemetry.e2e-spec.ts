// OpenTelemetry export: one span and metric points per request, allowlisted attributes only, sent to a fake
// OTLP/HTTP collector that passes the residency check; a collector outside telemetry.otlpNetworks receives
// nothing at all, and a foreign collector country fails the config check.
import 'reflect-metadata';
import { ConfigError, parseConfig } from '../../src/config/config.loader';
import { residencyEvents, type ResidencyViolation } from '../../src/residency/residency-connector';
import { Telemetry } from '../../src/telemetry/telemetry.service';
import { FakeOtlpCollector, otlpAttribute as attr } from '../fakes/fake-otlp-collector';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const CANARY = 'CaNaRy~otlp~7f3e9a';

describe('OpenTelemetry traces over OTLP', () => {
  let upstream: FakeVllm;
  let collector: FakeOtlpCollector;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    collector = await FakeOtlpCollector.start();
  });
  afterEach(() => {
    collector.reset();
    upstream.reset();
  });
  afterAll(async () => {
    await upstream.close();
    await collector.close();
  });

  async function startWith(networks: string[]): Promise<TestApp> {
    return startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      extraYaml: `telemetry: { otlpEndpoint: "${collector.url}", otlpNetworks: ${JSON.stringify(networks)} }\n`,
    });
  }

  /**
   * The request's log line is in: the span was handed to the exporter in the same call (metering, then
   * telemetry), so a flush from here on sends it.
   */
  async function recorded(hunze: TestApp, requestId: string): Promise<void> {
    await waitFor(
      async () => hunze.logLines.some((l) => l.includes('"evt":"request"') && l.includes(requestId)),
      30_000,
    );
  }

  async function chat(hunze: TestApp): Promise<string> {
    const { key } = await hunze.createKey({ name: 'tracing-test' });
    const res = await fetch(`${hunze.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'qwen',
        user: CANARY,
        messages: [{ role: 'user', content: `hi ${CANARY}` }],
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain(CANARY);
    return res.headers.get('x-request-id')!;
  }

  it('exports one span per request with allowlisted metadata and no content', async () => {
    const hunze = await startWith(['127.0.0.0/8']);
    try {
      const requestId = await chat(hunze);
      await recorded(hunze, requestId);
      await hunze.app.get(Telemetry).forceFlush();
      const spans = collector.spans().filter((s) => attr(s, 'hunze.requestId') === requestId);
      expect(spans).toHaveLength(1);
      const span = spans[0]!;
      expect(span.name).toBe('POST /v1/chat/completions');
      expect(attr(span, 'hunze.model')).toBe(MODEL);
      expect(attr(span, 'hunze.status')).toBe(200);
      expect(attr(span, 'hunze.upstream')).toBe('vllm-a');
      expect(attr(span, 'http.route')).toBe('/v1/chat/completions');
      expect(attr(span, 'http.response.status_code')).toBe(200);
      expect(attr(span, 'hunze.promptTokens')).toEqual(expect.any(Number));
      for (const a of span.attributes)
        expect(a.key).toMatch(
          /^(hunze\.[A-Za-z]+|http\.request\.method|http\.route|http\.response\.status_code)$/,
        );
      expect(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano)).toBe(true);
      for (const body of collector.traceBodies) expect(body).not.toContain(CANARY);

      const metrics = collector.metrics();
      expect(metrics.map((m) => m.name)).toEqual(
        expect.arrayContaining(['hunze.requests', 'hunze.tokens', 'hunze.request.duration']),
      );
      const requests = metrics.find((m) => m.name === 'hunze.requests')!;
      const point = requests.sum!.dataPoints.find((p) => attr(p, 'hunze.model') === MODEL)!;
      expect(Number(point.asInt ?? point.asDouble)).toBeGreaterThanOrEqual(1);
      expect(attr(point, 'hunze.upstream')).toBe('vllm-a');
      for (const m of metrics)
        for (const p of [...(m.sum?.dataPoints ?? []), ...(m.histogram?.dataPoints ?? [])])
          for (const a of p.attributes) expect(a.key).not.toMatch(/requestId|keyId/);
      for (const body of collector.metricBodies) expect(body).not.toContain(CANARY);
    } finally {
      await hunze.close();
    }
  });

  it('sends nothing to a collector outside otlpNetworks and reports the residency violation', async () => {
    const hunze = await startWith(['10.20.0.0/24']);
    const violations: ResidencyViolation[] = [];
    const unsubscribe = residencyEvents.subscribe((v) => violations.push(v));
    try {
      await recorded(hunze, await chat(hunze));
      await hunze.app.get(Telemetry).forceFlush();
      expect(collector.traceBodies).toEqual([]);
      expect(collector.metricBodies).toEqual([]);
      expect(violations).toContainEqual(
        expect.objectContaining({ upstream: 'otlp', reason: 'outside_networks', address: '127.0.0.1' }),
      );
      const logged = hunze.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged).toContainEqual(
        expect.objectContaining({ evt: 'residency_violation', upstream: 'otlp', reason: 'outside_networks' }),
      );
    } finally {
      unsubscribe();
      await hunze.close();
    }
    expect(collector.traceBodies).toEqual([]); // nor on the flush at shutdown
    expect(collector.metricBodies).toEqual([]);
  });

  function configProblems(telemetry: string): string[] {
    const yaml = `appliance: { name: T, operator: { name: O, country: NL } }
auth: { adminKey: an-admin-key-that-is-long-enough-0123 }
telemetry: ${telemetry}
`;
    try {
      parseConfig(yaml, {});
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  }

  it('refuses a config with otlpEndpoint but no otlpNetworks', () => {
    expect(configProblems('{ otlpEndpoint: "http://127.0.0.1:4318" }')).toContainEqual(
      expect.stringMatching(/^telemetry\.otlpNetworks: required/),
    );
  });

  it('refuses a collector declared outside the allowed regions', () => {
    expect(
      configProblems(
        '{ otlpEndpoint: "http://127.0.0.1:4318", otlpNetworks: [127.0.0.0/8], otlpCountry: US }',
      ),
    ).toContainEqual(expect.stringMatching(/^telemetry\.otlpCountry: residency violation: .* in US/));
    expect(
      configProblems(
        '{ otlpEndpoint: "http://127.0.0.1:4318", otlpNetworks: [127.0.0.0/8], otlpCountry: DE }',
      ),
    ).toEqual([]);
  });
});
