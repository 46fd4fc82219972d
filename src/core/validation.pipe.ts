// Validates a JSON body against a class-validator DTO and reports the first problem as an OpenAI-shaped
// 400 naming the field. Reasons come from a fixed table keyed by constraint, so no value is ever quoted.
// The original body is passed on untouched: the gateway forwards parameters it does not itself check.
//
// Fast path: a DTO may come with a JSON schema that is never looser than its decorators. Ajv compiles it
// once, and a body it accepts is passed on without class-validator, the costliest step of a chat request's
// own CPU time. Any other body takes the class-validator path, which still words every error, so answers
// stay exactly what they were without the schema. Both paths cost time linear in the body's size (the
// number of keys of any one object is bounded earlier, by server.maxObjectKeys, in the JSON parser).
import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import Ajv, { type SchemaObject, type ValidateFunction } from 'ajv';
import { validateSync, type ValidationError } from 'class-validator';
import { toDtoInstance } from './dto-instance';
import { ApiError, type ErrorCode } from './errors';
import { INSTANT_REASON } from './iso-instant';
import { STORABLE_TEXT_REASON } from './storable-text';

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
  isInstant: INSTANT_REASON,
  isStorableText: STORABLE_TEXT_REASON,
  nestedValidation: 'must be an object',
  // The gateway's own validators (src/gateway/dto/validators.ts, completions/completion.dto.ts)
  isMessageContent: 'must be a string, null or an array of content parts',
  isStringOrStrings: 'must be a string or a short array of strings',
  isStringOrObject: 'must be a string or an object',
  isPrompt: 'must be a string, an array of strings or an array of token ids',
  isMetadata: 'must map keys of at most 64 characters to strings of at most 512',
  isImageSize: 'must be auto or WIDTHxHEIGHT, each side a multiple of 16 from 256 to 2048',
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

type Ctor<T> = new () => T;

export interface BodyValidationOptions {
  /** Unknown fields are refused (class-validator's whitelist + forbidNonWhitelisted). */
  strict?: boolean;
  /**
   * A JSON schema of bodies the DTO certainly accepts: it must never be looser than the decorators (where a
   * rule is awkward to express, write it stricter; class-validator then decides). With a strict pipe it
   * needs `additionalProperties: false` on every object the DTO whitelists.
   */
  schema?: SchemaObject;
}

/** Plain JSON checks only: no coercion, defaults or removal, so an accepted body is the body as sent. */
const ajv = new Ajv({
  strict: true,
  allErrors: false,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
});

/** Compiles a DTO's schema with the pipe's Ajv settings (exported for the schemas' own tests). */
export function compileBodySchema(schema: SchemaObject): ValidateFunction {
  return ajv.compile(schema);
}

@Injectable()
export class BodyValidationPipe<T extends object> implements PipeTransform<unknown, T> {
  private readonly strict: boolean;
  private readonly schema?: ValidateFunction;
  /** Bodies passed on by the schema alone, without class-validator (read by tests). */
  acceptedBySchema = 0;

  constructor(
    private readonly dto: Ctor<T>,
    options: boolean | BodyValidationOptions = false,
  ) {
    const { strict = false, schema } = typeof options === 'boolean' ? { strict: options } : options;
    this.strict = strict;
    if (schema) this.schema = compileBodySchema(schema);
  }

  transform(value: unknown, _meta?: ArgumentMetadata): T {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ApiError('invalid_request_error', { param: 'body', reason: 'must be a JSON object' }, 'body');
    }
    // Nesting depth is bounded before this (http/object-keys-bound.ts, as the JSON body's bytes arrive): the
    // validation below recurses. Every body Hunze parses is JSON and passes that bound.
    // Fast path: a body the compiled schema accepts, class-validator would accept too (the schema is never
    // looser; body-schemas.spec.ts). Everything else goes to class-validator, which words the refusal.
    if (this.schema && this.schema(value)) {
      this.acceptedBySchema++;
      return value as T;
    }
    const instance = toDtoInstance(this.dto, value);
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
  if (context) return new ApiError(context.errorCode, { param: path, ...context.params }, path);
  return new ApiError(
    'invalid_request_error',
    { param: path, reason: REASONS[constraint] ?? 'is invalid' },
    path,
  );
}
