"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.FakeTei = void 0;
exports.deterministicEmbedding = deterministicEmbedding;
// Fake Hugging Face text-embeddings-inference 1.9 (OpenAI route `/v1/embeddings`, `/health`, `/info`).
// Mirrors TEI's wire details the gateway depends on: the flat `{"message","code","type"}` error body on the
// OpenAI route, 413 above max_client_batch_size, 400 "empty", an EMPTY-bodied 401 when --api-key is set
// (/health stays public, /info does not), little-endian float32 base64 embeddings, token-id inputs
// (TEI's `InputType::Ids`: `[1,2]` is ONE input, `[[1,2],"text"]` a batch), and 422 "validation" when
// `dimensions` exceeds the model's.
const node_crypto_1 = require("node:crypto");
const fake_server_base_1 = require("./fake-server-base");
const EMBEDDING_PATHS = new Set(['/v1/embeddings', '/embeddings']);
class FakeTei extends fake_server_base_1.FakeServerBase {
    constructor(options) {
        super(options);
        this.modelName = options.modelName ?? 'BAAI/bge-m3';
        this.dimensions = options.dimensions ?? 1024;
        this.maxClientBatchSize = options.maxClientBatchSize ?? 32;
    }
    static async start(options = {}) {
        const fake = new FakeTei(options);
        await fake.listen();
        return fake;
    }
    /** Number of inputs in each embeddings request received, in arrival order (a string counts as 1). */
    get batchSizes() {
        return this.requests
            .filter((r) => EMBEDDING_PATHS.has(r.path))
            .map((r) => {
            const input = r.body?.input;
            return Array.isArray(input) && !isSingle(input) ? input.length : 1;
        });
    }
    /** The float32 vector the fake returns for `text`, for assertions on the gateway's output. */
    embeddingFor(text, dimensions = this.dimensions) {
        return deterministicEmbedding(text, dimensions);
    }
    /** The vector for a token-id input. */
    embeddingForTokens(ids, dimensions = this.dimensions) {
        return deterministicEmbedding(tokenKey(ids), dimensions);
    }
    answerHealth(res) {
        if (this.healthy)
            this.send(res, 200, '', {});
        else
            this.sendJson(res, 503, { error: 'unhealthy', error_type: 'unhealthy' });
    }
    // TEI answers a bare `StatusCode::UNAUTHORIZED`: no body at all.
    answerUnauthorized(res) {
        this.send(res, 401, '', {});
    }
    route(req, res, raw, path) {
        if (req.method === 'GET' && path === '/info')
            return this.sendJson(res, 200, this.info());
        if (req.method === 'POST' && EMBEDDING_PATHS.has(path)) {
            return this.embed(res, raw, req.headers['content-type']);
        }
        // axum's fallback: 404 with an empty body
        this.send(res, 404, '', {});
    }
    info() {
        return {
            model_id: this.modelName,
            model_sha: null,
            model_dtype: 'float16',
            model_type: { embedding: { pooling: 'cls' } },
            max_concurrent_requests: 512,
            max_input_length: 8192,
            max_batch_tokens: 16384,
            max_batch_requests: null,
            max_client_batch_size: this.maxClientBatchSize,
            auto_truncate: false,
            tokenization_workers: 4,
            version: '1.9.0',
            sha: null,
            docker_label: null,
        };
    }
    embed(res, raw, contentType) {
        // axum's Json extractor refuses anything not declared as JSON
        if (!/^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType ?? '')) {
            const message = 'Expected request with `Content-Type: application/json`';
            return this.send(res, 415, message, { 'content-type': 'text/plain; charset=utf-8' });
        }
        const request = parseRequest(raw);
        // axum's Json extractor rejects malformed bodies with plain text, not TEI's JSON error shape
        if (typeof request === 'string') {
            return this.send(res, 422, request, { 'content-type': 'text/plain; charset=utf-8' });
        }
        const inputs = isSingle(request.input) ? [request.input] : request.input;
        // an empty batch, and (from the tokenizer) an empty text or token list, are all "empty"
        if (inputs.length === 0 || inputs.some((i) => i.length === 0)) {
            return this.sendError(res, 400, 'empty', '`inputs` cannot be empty');
        }
        if (inputs.length > this.maxClientBatchSize) {
            const message = `batch size ${inputs.length} > maximum allowed batch size ${this.maxClientBatchSize}`;
            return this.sendError(res, 413, 'validation', message);
        }
        switch (this.mode) {
            case 'overloaded':
                return this.sendError(res, 429, 'overloaded', 'Model is overloaded');
            case 'backend-error':
                return this.sendError(res, 424, 'backend', 'Inference failed: CUDA error: device-side assert triggered');
            case 'tokenizer-error':
                // Deliberately echoes the user's text: the gateway must never pass upstream messages through.
                return this.sendError(res, 422, 'tokenizer', `Tokenization error: cannot tokenize "${String(inputs[0] ?? '')}"`);
        }
        const dims = request.dimensions ?? this.dimensions;
        if (dims > this.dimensions) {
            const message = '`dimensions` should be smaller than the maximum embedding dimension.';
            return this.sendError(res, 422, 'validation', message);
        }
        let tokens = 0;
        const data = inputs.map((input, index) => {
            const text = typeof input === 'string' ? input : tokenKey(input);
            tokens +=
                typeof input === 'string' ? Math.max(1, input.split(/\s+/).filter(Boolean).length) : input.length;
            const vector = deterministicEmbedding(text, dims);
            const embedding = request.encoding_format === 'base64' ? toBase64(vector) : Array.from(vector);
            return { object: 'embedding', embedding, index };
        });
        const body = {
            object: 'list',
            data,
            model: this.modelName,
            usage: { prompt_tokens: tokens, total_tokens: tokens },
        };
        this.sendJson(res, 200, body, { 'x-compute-type': 'gpu+optimized', 'x-compute-tokens': String(tokens) });
    }
    sendError(res, code, type, message) {
        const body = { message, code, type };
        this.sendJson(res, code, body);
    }
}
exports.FakeTei = FakeTei;
/** Validated request, or the plain-text rejection axum would send. */
function parseRequest(raw) {
    let body;
    try {
        body = JSON.parse(raw.toString('utf8'));
    }
    catch (err) {
        return `Failed to parse the request body as JSON: ${err.message}`;
    }
    if (typeof body !== 'object' || body === null) {
        return 'Failed to deserialize the JSON body into the target type';
    }
    const { input, encoding_format, dimensions } = body;
    // serde untagged `Input`: Single(InputType) first, then Batch(Vec<InputType>)
    const inputOk = isSingle(input) || (Array.isArray(input) && input.every((i) => typeof i === 'string' || isTokenIds(i)));
    if (!inputOk)
        return 'Failed to deserialize the JSON body into the target type: input: invalid type';
    if (encoding_format !== undefined && encoding_format !== 'float' && encoding_format !== 'base64') {
        return 'Failed to deserialize the JSON body into the target type: encoding_format: unknown variant';
    }
    if (dimensions !== undefined &&
        dimensions !== null &&
        !(Number.isInteger(dimensions) && dimensions > 0)) {
        return 'Failed to deserialize the JSON body into the target type: dimensions: invalid value';
    }
    return {
        input: input,
        encoding_format: encoding_format,
        dimensions: dimensions ?? undefined,
    };
}
function isTokenIds(value) {
    return Array.isArray(value) && value.every((t) => Number.isInteger(t) && t >= 0 && t <= 0xffffffff);
}
/** `[]` would parse as Single(Ids([])) in TEI; either way it ends as 400 "empty", so treat it as a batch. */
function isSingle(value) {
    return typeof value === 'string' || (isTokenIds(value) && value.length > 0);
}
/** What a token-id input's deterministic vector is seeded from. */
function tokenKey(ids) {
    return `tokens:${ids.join(',')}`;
}
/** Unit-length vector seeded from sha256(text); a prefix of a longer vector, like Matryoshka truncation. */
function deterministicEmbedding(text, dimensions) {
    const seed = (0, node_crypto_1.createHash)('sha256').update(text, 'utf8').digest();
    let state = seed.readUInt32LE(0) || 1;
    const values = new Float32Array(dimensions);
    let norm = 0;
    for (let i = 0; i < dimensions; i++) {
        // xorshift32: cheap, deterministic, good enough to make distinct texts' vectors differ
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        const v = state / 0x100000000 - 0.5;
        values[i] = v;
        norm += v * v;
    }
    const scale = 1 / Math.sqrt(norm || 1);
    for (let i = 0; i < dimensions; i++)
        values[i] = (values[i] ?? 0) * scale;
    return values;
}
/** Little-endian float32 bytes, base64 — what TEI and OpenAI send for `encoding_format: "base64"`. */
function toBase64(vector) {
    const bytes = Buffer.alloc(vector.length * 4);
    vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
    return bytes.toString('base64');
}
