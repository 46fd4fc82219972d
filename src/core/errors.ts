// The one error catalogue. Every error a client can see is an entry here: code, HTTP status, OpenAI `type`,
// and a fixed message. Messages are constants or take only our own numbers and field names, so an error can
// never echo request or upstream content. docs/errors.md is generated from this table (`npm run docs:errors`).

export interface ErrorSpec {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  /** Steers the OpenAI SDKs' automatic retries (`x-should-retry`). */
  readonly retry: boolean;
}

export const ERRORS = {
  invalid_api_key: {
    status: 401,
    type: 'invalid_request_error',
    message: 'Invalid, expired or revoked API key. Send it as "Authorization: Bearer <key>".',
    retry: false,
  },
  permission_denied: {
    status: 403,
    type: 'permission_error',
    message: 'This API key does not have the role needed for this endpoint.',
    retry: false,
  },
  model_not_allowed: {
    status: 403,
    type: 'permission_error',
    message: 'This API key is not allowed to use the requested model.',
    retry: false,
  },
  model_not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'The requested model does not exist. GET /v1/models lists the models you can use.',
    retry: false,
  },
  not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'Unknown endpoint or resource.',
    retry: false,
  },
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request body is not valid JSON.',
    retry: false,
  },
  invalid_request_error: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Invalid value for {param}: {reason}.',
    retry: false,
  },
  unknown_parameter: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Unknown query parameter: this endpoint accepts only {accepted}.',
    retry: false,
  },
  too_many_messages: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Too many messages: at most {max} are accepted.',
    retry: false,
  },
  too_many_entries: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Too many entries in {param}: at most {max} are accepted.',
    retry: false,
  },
  too_many_keys: {
    status: 400,
    type: 'invalid_request_error',
    message: 'An object in {param} has too many keys: at most {max} are accepted in any one object.',
    retry: false,
  },
  wrong_model_kind: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'The requested model is a {kind} model and cannot serve this endpoint, which needs a {needed} model.',
    retry: false,
  },
  request_too_large: {
    status: 413,
    type: 'invalid_request_error',
    message: 'The request body is larger than the limit of {limitMb} MB.',
    retry: false,
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    message: 'The request body stopped arriving: nothing was received for {timeoutMs} ms.',
    retry: false,
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    message: 'The request line and headers are larger than the limit of {limitBytes} bytes.',
    retry: false,
  },
  malformed_request: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The HTTP request could not be parsed (malformed request line, header or framing).',
    retry: false,
  },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    message: 'Unsupported Content-Type for this endpoint.',
    retry: false,
  },
  remote_media_refused: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'Media by URL is not accepted here: send it inline as a base64 data: URI (the field named in param).',
    retry: false,
  },
  remote_media_unavailable: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The media at {param} could not be fetched: {reason}. Send it inline as a base64 data: URI.',
    retry: false,
  },
  file_reference_unsupported: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'File references (file_id) are not supported: this gateway stores no files. Send the file inline.',
    retry: false,
  },
  rate_limit_exceeded: {
    status: 429,
    type: 'requests',
    message: 'Rate limit reached. Please try again in {retryAfter}s.',
    retry: true,
  },
  quota_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    message: 'The monthly token quota of this key or account is used up.',
    retry: false,
  },
  upstream_rejected: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'The model backend rejected the request (status {upstreamStatus}); check its parameters and length.',
    retry: false,
  },
  upstream_error: {
    status: 502,
    type: 'server_error',
    message: 'The model backend failed to answer (status {upstreamStatus}).',
    retry: true,
  },
  upstream_connection_failed: {
    status: 502,
    type: 'server_error',
    message: 'The connection to the model backend failed.',
    retry: true,
  },
  upstream_certificate_refused: {
    status: 502,
    type: 'server_error',
    message: "The request was not sent: the model backend's TLS certificate failed verification.",
    retry: false,
  },
  upstream_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'No model backend is available for this model right now.',
    retry: true,
  },
  upstream_overloaded: {
    status: 503,
    type: 'server_error',
    message: 'The model backend is overloaded. Please retry shortly.',
    retry: true,
  },
  upstream_timeout: {
    status: 504,
    type: 'server_error',
    message: 'The model backend did not answer in time.',
    retry: true,
  },
  key_verification_unavailable: {
    status: 503,
    type: 'server_error',
    message:
      'API keys cannot be checked right now: this replica has lost both its key-change feed and its database. Please retry shortly.',
    retry: true,
  },
  image_store_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'The store for generated images (Redis) is unavailable. Please retry shortly.',
    retry: true,
  },
  residency_violation: {
    status: 503,
    type: 'server_error',
    message: 'The request was not sent: the model backend failed the residency check.',
    retry: false,
  },
  internal_error: {
    status: 500,
    type: 'server_error',
    message: 'Internal error. The request id identifies it in the appliance logs.',
    retry: true,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Values a message template may take: our own field names and numbers, never client or upstream text. */
export type ErrorParams = Readonly<Record<string, string | number>>;

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly params: ErrorParams = {},
    /** The request field at fault (OpenAI's `param`): a schema path, never a value. */
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(code);
    this.status = ERRORS[code].status;
  }

  toBody(): OpenAiErrorBody {
    const spec = ERRORS[this.code];
    const message = spec.message.replace(/\{(\w+)\}/g, (_, name: string) => String(this.params[name] ?? ''));
    return { error: { message, type: spec.type, param: this.param, code: this.code } };
  }

  responseHeaders(): Record<string, string> {
    return { 'x-should-retry': String(ERRORS[this.code].retry), ...this.headers };
  }
}
