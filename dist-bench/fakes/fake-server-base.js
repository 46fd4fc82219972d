"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.FakeServerBase = void 0;
// Shared plumbing for the backend fakes (TEI, WhisperX, FLUX): listening on an ephemeral port, socket
// tracking so close() never leaves a hung test behind, request/abort recording, and the failure modes every
// backend can show ('reset' = TCP reset, 'hang' = never answer). Subclasses only implement their routes.
const node_http_1 = __importDefault(require("node:http"));
class FakeServerBase {
    constructor(options) {
        this.options = options;
        this.mode = 'ok';
        this.healthy = true;
        /** Delay before the status line is written (after the body was read). */
        this.firstByteDelayMs = 0;
        this.requests = [];
        this.aborted = [];
        this.sockets = new Set();
        this.timers = new Set();
        this.active = 0;
        this.closing = false;
        this.boundPort = 0;
        this.server = node_http_1.default.createServer((req, res) => void this.onRequest(req, res));
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
    }
    get port() {
        return this.boundPort;
    }
    get baseUrl() {
        return `http://${this.urlHost}:${this.boundPort}/v1`;
    }
    /** Requests whose response has not been closed yet (hanging, delayed or still streaming). */
    get inFlight() {
        return this.active;
    }
    /** Forget recorded traffic and return to a healthy 'ok' fake. */
    reset() {
        this.requests.length = 0;
        this.aborted.length = 0;
        this.mode = 'ok';
        this.healthy = true;
        this.firstByteDelayMs = 0;
    }
    /** Destroys every open socket (hanging requests included) so Jest can exit cleanly. */
    async close() {
        this.closing = true;
        for (const timer of this.timers)
            clearTimeout(timer);
        this.timers.clear();
        for (const socket of this.sockets)
            socket.destroy();
        this.sockets.clear();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    async listen() {
        const { host = '127.0.0.1', port = 0 } = this.options;
        await new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(port, host, () => {
                this.server.off('error', reject);
                resolve();
            });
        });
        this.boundPort = this.server.address().port;
    }
    /**
     * Turn the raw body into what `requests[].body` records: JSON when it parses (whatever the content-type,
     * so a missing header does not hide the payload), else the text; uploads only as their size.
     */
    describeBody(raw, contentType) {
        if (raw.length === 0)
            return null;
        if (/^multipart\//i.test(contentType ?? ''))
            return { bytes: raw.length };
        const text = raw.toString('utf8');
        try {
            return JSON.parse(text);
        }
        catch {
            return text;
        }
    }
    /** Routes answered without auth and regardless of `mode` (liveness probes). */
    isHealthPath(path) {
        return path === '/health';
    }
    answerHealth(res) {
        if (this.healthy)
            this.sendJson(res, 200, { status: 'ok' });
        else
            this.sendJson(res, 503, { status: 'unhealthy' });
    }
    answerUnauthorized(res) {
        this.sendJson(res, 401, { detail: 'Invalid or missing API key' });
    }
    sendJson(res, status, body, headers = {}) {
        this.send(res, status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
    }
    send(res, status, body, headers) {
        if (res.destroyed || res.writableEnded)
            return;
        res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
        res.end(body);
    }
    get urlHost() {
        const host = this.options.host ?? '127.0.0.1';
        if (host === '0.0.0.0' || host === '::')
            return '127.0.0.1';
        return host.includes(':') ? `[${host}]` : host;
    }
    async onRequest(req, res) {
        const receivedAt = Date.now();
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        let serverKilled = false; // a 'reset' we caused is not a client abort
        this.active++;
        res.on('close', () => {
            this.active--;
            if (!res.writableFinished && !serverKilled && !this.closing) {
                this.aborted.push({ path, at: Date.now() });
            }
        });
        const raw = await this.collectBody(req);
        if (raw === null)
            return; // client went away mid-upload; 'close' above records it
        this.requests.push({
            method: req.method ?? 'GET',
            path,
            headers: req.headers,
            body: this.describeBody(raw, req.headers['content-type']),
            receivedAt,
        });
        if (req.method === 'GET' && this.isHealthPath(path))
            return this.answerHealth(res);
        if (this.options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
            return this.answerUnauthorized(res);
        }
        if (this.mode === 'reset') {
            serverKilled = true;
            req.socket.resetAndDestroy();
            return;
        }
        if (this.mode === 'hang')
            return; // answered only by the client giving up or close()
        if (this.firstByteDelayMs > 0) {
            await this.sleep(this.firstByteDelayMs);
            if (res.destroyed)
                return;
        }
        this.route(req, res, raw, path);
    }
    // Collect the whole body: fakes need the complete payload and bodies here are small.
    async collectBody(req) {
        const chunks = [];
        try {
            for await (const chunk of req)
                chunks.push(chunk);
        }
        catch {
            return null;
        }
        return req.complete ? Buffer.concat(chunks) : null;
    }
    sleep(ms) {
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.timers.delete(timer);
                resolve();
            }, ms);
            this.timers.add(timer);
        });
    }
}
exports.FakeServerBase = FakeServerBase;
