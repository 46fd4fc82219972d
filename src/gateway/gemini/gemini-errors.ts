// Gemini's error wire format, derived from the one catalogue: same HTTP status, same message text, plus
// Google's canonical status name. `{"error":{"code":404,"message":"...","status":"NOT_FOUND"}}`.
import { ApiError, ERRORS, type ErrorCode } from '../../core/errors';

export type GoogleStatus =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED';

export interface GoogleErrorBody {
  error: { code: number; message: string; status: GoogleStatus };
}

export function googleStatusOf(httpStatus: number): GoogleStatus {
  switch (httpStatus) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 502:
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return httpStatus >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
  }
}

export function toGoogleError(error: ApiError): GoogleErrorBody {
  return googleError(error.status, error.toBody().error.message);
}

/**
 * A catalogue error event from the relayed stream (`{"error":{message,type,param,code}}`, our own text)
 * in Google's shape.
 */
export function googleErrorFromEvent(event: Record<string, unknown>): GoogleErrorBody {
  const error = (event.error ?? {}) as { message?: unknown; code?: unknown };
  const code = typeof error.code === 'string' && error.code in ERRORS ? (error.code as ErrorCode) : undefined;
  if (typeof error.message !== 'string' || !code)
    return toGoogleError(new ApiError('upstream_error', { upstreamStatus: 200 }));
  return googleError(ERRORS[code].status, error.message);
}

function googleError(status: number, message: string): GoogleErrorBody {
  return { error: { code: status, message, status: googleStatusOf(status) } };
}
