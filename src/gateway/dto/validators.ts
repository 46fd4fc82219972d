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
