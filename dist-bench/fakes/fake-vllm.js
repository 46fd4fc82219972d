"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.FakeVllm = void 0;
// In-process fake of vLLM's OpenAI-compatible server (node:http only), speaking its exact wire format,
// with switchable failure modes so gateway tests can drive every upstream behaviour deterministically.
const node_http_1 = __importDefault(require("node:http"));
const wire = __importStar(require("./sse"));
const DEFAULT_MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const DEFAULT_TEXT = 'Hello from the fake vLLM server.';
const KNOWN_PATHS = ['/health', '/metrics', '/v1/models', '/v1/chat/completions', '/v1/completions'];
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Text of a chat content: a string or an array of parts, of which only `text` parts count. */
function contentText(content) {
    if (typeof content === 'string')
        return content;
    if (!Array.isArray(content))
        return '';
    return content
        .map((p) => (isObj(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
        .filter(Boolean)
        .join(' ');
}
function readPrompt(kind, body) {
    if (kind === 'chat') {
        if (!Array.isArray(body.messages))
            return 'Field required: messages';
        const messages = body.messages.filter(isObj);
        const words = messages.reduce((sum, m) => sum + wire.countWords(contentText(m.content)), 0);
        const lastUser = messages.filter((m) => m.role === 'user').pop();
        return { words: Math.max(1, words), echo: contentText(lastUser?.content), count: 1 };
    }
    const p = body.prompt;
    if (Array.isArray(p) && p.length > 0 && p.every((t) => typeof t === 'number'))
        return { words: p.length, echo: '', count: 1 }; // a single prompt given as token ids
    const list = typeof p === 'string' ? [p] : Array.isArray(p) && p.length > 0 ? p : [];
    if (list.length === 0 || !list.every((t) => typeof t === 'string'))
        return 'Field required: prompt';
    const words = list.reduce((sum, t) => sum + wire.countWords(t), 0);
    return { words: Math.max(1, words), echo: list.join('\n'), count: list.length };
}
function sendJson(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
class FakeVllm {
    constructor(opts) {
        this.opts = opts;
        this.mode = 'ok';
        this.errorStatus = 400;
        this.firstByteDelayMs = 0;
        this.chunkDelayMs = 0;
        this.completionText = DEFAULT_TEXT;
        this.healthy = true;
        this.requests = [];
        this.aborted = [];
        this.sockets = new Set();
        this.timers = new Set();
        this.active = 0;
        this.closing = false;
        this.modelName = opts.modelName ?? DEFAULT_MODEL;
        this.server = node_http_1.default.createServer((req, res) => this.handle(req, res));
        this.server.on('connection', (socket) => {
            socket.setNoDelay(true); // every SSE write leaves at once, so chunk timing is observable
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        this.server.on('clientError', (_err, socket) => socket.destroy());
    }
    static async start(opts = {}) {
        const fake = new FakeVllm(opts);
        await new Promise((resolve, reject) => {
            fake.server.once('error', reject);
            fake.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
        });
        fake.address = fake.server.address();
        return fake;
    }
    get port() {
        return this.address?.port ?? 0;
    }
    get baseUrl() {
        const host = this.address?.family === 'IPv6' ? `[${this.address.address}]` : this.address?.address;
        return `http://${host}:${this.port}/v1`;
    }
    /** Generation requests (POST) currently being answered, hanging ones included. */
    get inFlight() {
        return this.active;
    }
    reset() {
        this.mode = 'ok';
        this.errorStatus = 400;
        this.firstByteDelayMs = 0;
        this.chunkDelayMs = 0;
        this.completionText = DEFAULT_TEXT;
        this.healthy = true;
        this.requests.length = 0;
        this.aborted.length = 0;
    }
    async close() {
        this.closing = true; // sockets we destroy here are not client aborts
        for (const timer of this.timers)
            clearTimeout(timer);
        this.timers.clear();
        for (const socket of this.sockets)
            socket.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    handle(req, res) {
        const path = new URL(req.url ?? '/', 'http://fake').pathname;
        const isPost = req.method === 'POST';
        let selfDestroyed = false; // the reset modes close the socket on purpose: not an abort
        if (isPost)
            this.active++;
        res.on('close', () => {
            if (isPost)
                this.active--;
            if (!res.writableEnded && !selfDestroyed && !this.closing)
                this.aborted.push({ path, at: Date.now() });
        });
        const dropSocket = () => {
            selfDestroyed = true;
            res.socket?.destroy();
        };
        req.on('error', () => undefined); // a client abort must not crash the fake
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            this.route(req, res, path, raw, dropSocket).catch(() => dropSocket());
        });
    }
    async route(req, res, path, raw, dropSocket) {
        let body = raw === '' ? undefined : raw;
        let malformed = false;
        try {
            if (raw !== '')
                body = JSON.parse(raw);
        }
        catch {
            malformed = true;
        }
        const method = req.method ?? 'GET';
        this.requests.push({ method, path, headers: { ...req.headers }, body, receivedAt: Date.now() });
        // vLLM's --api-key middleware guards /v1 only; /health and /metrics stay open.
        const key = this.opts.apiKey;
        if (key !== undefined && path.startsWith('/v1') && req.headers.authorization !== `Bearer ${key}`)
            return sendJson(res, 401, { error: 'Unauthorized' });
        const route = `${method} ${path}`;
        if (route === 'GET /health')
            return void res.writeHead(this.healthy ? 200 : 503).end();
        if (route === 'GET /metrics')
            return this.sendMetrics(res);
        if (route === 'GET /v1/models')
            return sendJson(res, 200, wire.modelList(this.modelName));
        if (route === 'POST /v1/chat/completions')
            return this.generate(res, 'chat', body, malformed, dropSocket);
        if (route === 'POST /v1/completions')
            return this.generate(res, 'completion', body, malformed, dropSocket);
        if (KNOWN_PATHS.includes(path))
            return sendJson(res, 405, { detail: 'Method Not Allowed' });
        sendJson(res, 404, { detail: 'Not Found' });
    }
    async generate(res, kind, body, malformed, dropSocket) {
        const mode = this.mode; // fixed per request, so a test switching modes never mixes behaviours
        const status = this.errorStatus;
        const text = this.completionText;
        await this.sleep(this.firstByteDelayMs);
        if (res.destroyed)
            return;
        if (mode === 'unauthorized')
            return sendJson(res, 401, { error: 'Unauthorized' });
        if (mode === 'hang')
            return; // keep the socket open until the client or close() ends it
        if (malformed || !isObj(body))
            return sendJson(res, 400, wire.vllmError('Invalid request: body is not a JSON object', 400));
        const stream = body.stream === true;
        if (mode === 'reset' || (mode === 'reset-mid-stream' && !stream))
            return dropSocket();
        const prompt = readPrompt(kind, body);
        if (typeof prompt === 'string')
            return sendJson(res, 400, wire.vllmError(prompt, 400));
        const contextError = `This model's maximum context length is 32768 tokens. Please reduce the length of the input.`;
        if (mode === 'error-new' || (mode === 'error-mid-stream' && !stream))
            return sendJson(res, status, wire.vllmError(contextError, status));
        if (mode === 'error-old')
            return sendJson(res, status, wire.vllmErrorOld(contextError, status));
        if (mode === 'error-echo')
            return sendJson(res, status, wire.vllmError(`Invalid prompt: ${prompt.echo}`, status));
        if (mode === 'plain-text-500') {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            return void res.end(`Internal Server Error: ${prompt.echo}`);
        }
        if (body.model !== this.modelName)
            return sendJson(res, 404, wire.vllmError(`The model \`${String(body.model)}\` does not exist.`, 404));
        const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
        const pieces = wire.wordPieces(text);
        const choices = n * prompt.count;
        const fn = isObj(body.tool_choice) && isObj(body.tool_choice.function) ? body.tool_choice.function : {};
        // vLLM: include_usage defaults to true once stream_options is present; continuous stats need it on.
        const opts = isObj(body.stream_options) ? body.stream_options : undefined;
        const includeUsage = opts !== undefined && ('include_usage' in opts ? opts.include_usage === true : true);
        const spec = {
            model: this.modelName,
            choices,
            text,
            pieces,
            promptTokens: prompt.words,
            completionTokens: pieces.length * choices,
            includeUsage,
            continuousUsage: includeUsage && opts?.continuous_usage_stats === true,
            toolName: kind === 'chat' && Array.isArray(body.tools) && typeof fn.name === 'string' ? fn.name : undefined,
        };
        if (!stream)
            return sendJson(res, 200, kind === 'chat' ? wire.chatResponse(spec) : wire.completionResponse(spec));
        const plan = kind === 'chat' ? wire.chatStream(spec) : wire.completionStream(spec);
        const head = plan.events.slice(0, plan.preamble + 2); // role chunk(s) + 2 content chunks
        if (mode === 'reset-mid-stream') {
            await this.writeEvents(res, head);
            return dropSocket();
        }
        if (mode === 'error-mid-stream') {
            const error = wire.sseEvent(wire.vllmError('The engine failed while generating.', status));
            await this.writeEvents(res, [...head, error, wire.SSE_DONE]);
        }
        else {
            await this.writeEvents(res, mode === 'no-done' ? plan.events.slice(0, -1) : plan.events);
        }
        if (!res.destroyed)
            res.end();
    }
    /** Headers first, then each event as its own write, `chunkDelayMs` apart; stops if the client left. */
    async writeEvents(res, events) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        res.flushHeaders();
        for (const [i, event] of events.entries()) {
            if (i > 0)
                await this.sleep(this.chunkDelayMs);
            if (res.destroyed)
                return;
            // Wait for the write to reach the socket, so reset-mid-stream destroys only after sending.
            await new Promise((resolve) => res.write(event, () => resolve()));
        }
    }
    /** Prometheus text as vLLM's prometheus_client exposes it (labelled, float values). */
    sendMetrics(res) {
        const labels = `{engine="0",model_name="${this.modelName}"}`;
        const gauge = (name, help, value) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${labels} ${value.toFixed(1)}\n`;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', this.active) +
            gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', 0));
    }
    /** Timers are tracked and unref'd so close() can clear them and Jest never waits on one. */
    sleep(ms) {
        if (ms <= 0)
            return Promise.resolve();
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.timers.delete(timer);
                resolve();
            }, ms);
            timer.unref();
            this.timers.add(timer);
        });
    }
}
exports.FakeVllm = FakeVllm;
