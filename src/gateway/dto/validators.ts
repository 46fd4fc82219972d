import type { SchemaObject } from 'ajv';
import { ValidateBy, type ValidationOptions } from 'class-validator';

/** A message `content`: a string, null, or an array of typed parts ({type: 'text' | 'image_url' | ...}). */
export function IsMessageContent(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMessageContent',
      validator: {
        validate: (value: unknown) =>
          value === null ||
          value === undefined ||
          typeof value === 'string' ||
          (Array.isArray(value) &&
            value.every(
              (part) =>
                typeof part === 'object' &&
                part !== null &&
                typeof (part as { type?: unknown }).type === 'string',
            )),
      },
    },
    options,
  );
}

/** `stop`: a string or an array of up to `max` strings. */
export function IsStringOrStrings(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrStrings',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' ||
          (Array.isArray(value) && value.length <= max && value.every((v) => typeof v === 'string')),
      },
    },
    options,
  );
}

/** `tool_choice`: a mode string or an object naming a tool. */
export function IsStringOrObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrObject',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      },
    },
    options,
  );
}

// JSON-schema counterparts of the validators above, for the DTOs' schemas (BodyValidationPipe's fast path):
// each accepts exactly what its validator accepts, never more.

/** A field under @IsOptional(): class-validator skips it when absent and also when it is null. */
export function optional(schema: SchemaObject): SchemaObject {
  return typeof schema.type === 'string'
    ? { ...schema, nullable: true }
    : { anyOf: [{ type: 'null' }, schema] };
}

/** @IsMessageContent(); an absent `content` is left to the enclosing object's `required`. */
export const messageContentSchema: SchemaObject = {
  anyOf: [
    { type: 'string' },
    { type: 'null' },
    {
      type: 'array',
      items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    },
  ],
};

/** @IsStringOrStrings(max) */
export function stringOrStringsSchema(max: number): SchemaObject {
  return { anyOf: [{ type: 'string' }, { type: 'array', maxItems: max, items: { type: 'string' } }] };
}

/** @IsStringOrObject() */
export const stringOrObjectSchema: SchemaObject = { anyOf: [{ type: 'string' }, { type: 'object' }] };
