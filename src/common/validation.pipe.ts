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
  nestedValidation: 'must be an object',
  // The gateway's own validators (src/gateway/dto/validators.ts, completion.dto.ts)
  isMessageContent: 'must be a string, null or an array of content parts',
  isStringOrStrings: 'must be a string or a short array of strings',
  isStringOrObject: 'must be a string or an object',
  isPrompt: 'must be a string, an array of strings or an array of token ids',
};

/**
 * When a value breaks several rules, its presence and type are reported before its range or size: the order
 * in which class-validator runs a property's decorators (bottom-up) would otherwise answer "is above the
 * maximum" for `temperature: "hot"` and too_many_messages for `messages: "hi"`.
 */
const REPORTED_FIRST = [
  'isDefined',
  'isString',
  'isBoolean',
  'isInt',
  'isNumber',
  'isArray',
  'isObject',
  'nestedValidation',
];

/** Lets a DTO turn one constraint into a dedicated catalogue code (e.g. too_many_messages). */
export interface ConstraintContext {
  errorCode: ErrorCode;
  params?: Record<string, number>;
}

/** JSON nesting a body may have; real requests (tool schemas included) stay far below it. */
export const MAX_BODY_DEPTH = 100;

type Ctor<T> = new () => T;

@Injectable()
export class BodyValidationPipe<T extends object> implements PipeTransform<unknown, T> {
  constructor(
    private readonly dto: Ctor<T>,
    private readonly strict = false,
  ) {}

  transform(value: unknown, _meta?: ArgumentMetadata): T {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ApiError('invalid_request_error', { param: 'body', reason: 'must be a JSON object' }, 'body');
    }
    // class-transformer and JSON.stringify recurse: a body nested thousands deep would overflow the stack.
    if (nestedDeeperThan(value, MAX_BODY_DEPTH)) {
      throw new ApiError('invalid_request_error', { param: 'body', reason: 'is nested too deeply' }, 'body');
    }
    const instance = plainToInstance(this.dto, value);
    const errors = validateSync(instance, {
      whitelist: this.strict,
      forbidNonWhitelisted: this.strict,
      validationError: { target: false, value: false },
    });
    const first = errors[0];
    if (first) throw toApiError(first, '');
    return value as T;
  }
}

/** Iterative, so the check itself cannot overflow. */
function nestedDeeperThan(value: object, max: number): boolean {
  const pending: [object, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > max) return true;
    for (const child of Object.values(node) as unknown[]) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}

function toApiError(error: ValidationError, parent: string): ApiError {
  // An unknown field's name is the client's text: name the object holding it, never the field itself.
  if (error.constraints?.whitelistValidation) {
    const param = parent || 'body';
    return new ApiError(
      'invalid_request_error',
      { param, reason: 'has a field that is not accepted' },
      param,
    );
  }
  const path = /^\d+$/.test(error.property)
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const child = error.children?.[0];
  if (child && !error.constraints) return toApiError(child, path);
  const broken = Object.keys(error.constraints ?? {});
  const constraint = REPORTED_FIRST.find((name) => broken.includes(name)) ?? broken[0] ?? 'invalid';
  const context = error.contexts?.[constraint] as ConstraintContext | undefined;
  if (context) return new ApiError(context.errorCode, context.params ?? {}, path);
  return new ApiError(
    'invalid_request_error',
    { param: path, reason: REASONS[constraint] ?? 'is invalid' },
    path,
  );
}
