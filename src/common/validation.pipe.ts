// Validates a JSON body against a class-validator DTO and reports the first problem as an OpenAI-shaped
// 400 naming the field. Reasons come from a fixed table keyed by constraint, so no value is ever quoted.
// The original body is passed on untouched: the gateway forwards parameters it does not itself check.
import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ApiError, type ErrorCode } from './errors';

const REASONS: Readonly<Record<string, string>> = {
  isDefined: 'is required',
  isString: 'must be a string',
  isBoolean: 'must be a boolean',
  isInt: 'must be an integer',
  isNumber: 'must be a number',
  isArray: 'must be an array',
  isObject: 'must be an object',
  isIn: 'is not one of the accepted values',
  isEnum: 'is not one of the accepted values',
  min: 'is below the minimum',
  max: 'is above the maximum',
  minLength: 'is too short',
  maxLength: 'is too long',
  length: 'has an invalid length',
  arrayMinSize: 'has too few items',
  arrayMaxSize: 'has too many items',
  arrayUnique: 'has duplicate items',
  isIso8601: 'must be an ISO 8601 date-time',
  whitelistValidation: 'is not a known field',
  nestedValidation: 'must be an object',
};

/** Lets a DTO turn one constraint into a dedicated catalogue code (e.g. too_many_messages). */
export interface ConstraintContext {
  errorCode: ErrorCode;
  params?: Record<string, number>;
}

type Ctor<T> = new () => T;

@Injectable()
export class BodyValidationPipe<T extends object> implements PipeTransform<unknown, T> {
  constructor(
    private readonly dto: Ctor<T>,
    private readonly strict = false,
  ) {}

  transform(value: unknown, _meta?: ArgumentMetadata): T {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ApiError('invalid_request_error', { param: 'body', reason: 'must be a JSON object' }, null);
    }
    const instance = plainToInstance(this.dto, value);
    const errors = validateSync(instance, {
      whitelist: this.strict,
      forbidNonWhitelisted: this.strict,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
    });
    const first = errors[0];
    if (first) throw toApiError(first, '');
    return value as T;
  }
}

function toApiError(error: ValidationError, parent: string): ApiError {
  const path = /^\d+$/.test(error.property)
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const child = error.children?.[0];
  if (child && !error.constraints) return toApiError(child, path);
  const constraint = Object.keys(error.constraints ?? {})[0] ?? 'invalid';
  const context = error.contexts?.[constraint] as ConstraintContext | undefined;
  if (context) return new ApiError(context.errorCode, context.params ?? {}, path);
  return new ApiError(
    'invalid_request_error',
    { param: path, reason: REASONS[constraint] ?? 'is invalid' },
    path,
  );
}
