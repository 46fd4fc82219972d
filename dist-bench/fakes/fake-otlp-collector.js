"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.FakeOtlpCollector = void 0;
exports.otlpAttribute = otlpAttribute;
// A fake OpenTelemetry collector: OTLP/HTTP JSON on 127.0.0.1, under a base path like a real collector's
// `http://host:4318`, keeping every trace and metric document it receives for the test to inspect.
const node_http_1 = require("node:http");
class FakeOtlpCollector {
    constructor(basePath) {
        this.basePath = basePath;
        this.traceBodies = [];
        this.metricBodies = [];
        /** The base URL to configure as telemetry.otlpEndpoint. */
        this.url = '';
        this.server = (0, node_http_1.createServer)((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                if (req.method === 'POST' && req.url === `${this.basePath}/v1/traces`)
                    this.traceBodies.push(text);
                else if (req.method === 'POST' && req.url === `${this.basePath}/v1/metrics`)
                    this.metricBodies.push(text);
                else
                    return void res.writeHead(404).end();
                res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
            });
        });
    }
    static async start(basePath = '/otlp') {
        const collector = new FakeOtlpCollector(basePath);
        await new Promise((resolve) => collector.server.listen(0, '127.0.0.1', resolve));
        const { port } = collector.server.address();
        collector.url = `http://127.0.0.1:${port}${basePath}`;
        return collector;
    }
    reset() {
        this.traceBodies.length = 0;
        this.metricBodies.length = 0;
    }
    spans() {
        return this.traceBodies.flatMap((b) => {
            const doc = JSON.parse(b);
            return doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
        });
    }
    metrics() {
        return this.metricBodies.flatMap((b) => {
            const doc = JSON.parse(b);
            return doc.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
        });
    }
    close() {
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
exports.FakeOtlpCollector = FakeOtlpCollector;
/** An attribute's value as a plain JS value (OTLP JSON writes integers as strings). */
function otlpAttribute(item, key) {
    const v = item.attributes.find((a) => a.key === key)?.value;
    if (!v)
        return undefined;
    return v.stringValue ?? v.boolValue ?? (v.intValue === undefined ? v.doubleValue : Number(v.intValue));
}
