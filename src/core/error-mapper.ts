// Turns anything thrown on a request path into a catalogue ApiError. Framework errors (Fastify body parser,
// Nest routing) carry messages that can quote the request, so only their codes are read, never their text.
import { HttpException } from '@nestjs/common';
import { ApiError } from './errors';

interface CodedError {
  code?: unknown;
  statusCode?: unknown;
  name?: unknown;
}

const FASTIFY_CODES: Readonly<Record<string, (limitMb: number) => ApiError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (limitMb) => new ApiError('request_too_large', { limitMb }),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new ApiError('invalid_json'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new ApiError('invalid_json'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new ApiError('unsupported_media_type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new ApiError('invalid_request_error', { param: 'content-length', reason: 'does not match the body' }),
  // Raised by the router before any route matches (see frameworkErrorHandler).
  FST_ERR_BAD_URL: () =>
    new ApiError('invalid_request_error', { param: 'url', reason: 'is not validly percent-encoded' }, 'url'),
  FST_ERR_MAX_PARAM_LENGTH: () =>
    new ApiError(
      'invalid_request_error',
      { param: 'url', reason: 'has a path segment that is too long' },
      'url',
    ),
};

export function toApiError(err: unknown, bodyLimitMb: number): ApiError {
  if (err instanceof ApiError) return err;
  const coded = (err ?? {}) as CodedError;
  const code = typeof coded.code === 'string' ? coded.code : '';
  const fromFastify = FASTIFY_CODES[code];
  if (fromFastify) return fromFastify(bodyLimitMb);
  // Fastify's JSON parser throws a plain SyntaxError with statusCode 400.
  if (err instanceof SyntaxError && coded.statusCode === 400) return new ApiError('invalid_json');
  if (err instanceof HttpException) return fromHttpStatus(err.getStatus(), bodyLimitMb);
  if (typeof coded.statusCode === 'number' && coded.statusCode >= 400 && coded.statusCode < 500) {
    return fromHttpStatus(coded.statusCode, bodyLimitMb);
  }
  return new ApiError('internal_error');
}

/**
 * Nest hands Fastify's own errors over as HttpException(status) without their code. The only 400s that
 * reach here are the body parser's (empty or unparsable JSON): our handlers throw ApiError.
 */
function fromHttpStatus(status: number, limitMb: number): ApiError {
  switch (status) {
    case 400:
      return new ApiError('invalid_json');
    case 401:
      return new ApiError('invalid_api_key');
    case 403:
      return new ApiError('permission_denied');
    case 404:
    case 405:
      return new ApiError('not_found');
    case 413:
      return new ApiError('request_too_large', { limitMb });
    case 415:
      return new ApiError('unsupported_media_type');
    default:
      return status < 500
        ? new ApiError('invalid_request_error', { param: 'request', reason: 'the request is malformed' })
        : new ApiError('internal_error');
  }
}
