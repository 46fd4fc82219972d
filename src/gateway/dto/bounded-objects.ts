// Objects whose size OpenAI bounds: `logit_bias` (a map of token ids to biases) and `metadata` (up to 16
// string pairs). Their size is checked by counting keys before any per-key check, and refused with a 400
// that names the parameter. Each decorator has a JSON-schema counterpart for the validation pipe's fast path.
import type { SchemaObject } from 'ajv';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import type { ConstraintContext } from '../../core/validation.pipe';

/** OpenAI refuses a `logit_bias` of more than 300 tokens. */
export const MAX_LOGIT_BIAS_ENTRIES = 300;
/** OpenAI's `metadata`: at most 16 pairs, keys up to 64 characters, string values up to 512. */
export const METADATA_LIMITS = { entries: 16, keyLength: 64, valueLength: 512 } as const;

/** Length in code points, as Ajv's maxLength counts it (a string's .length counts UTF-16 units). */
function withinLength(text: string, max: number): boolean {
  if (text.length <= max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

function entriesWithin(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return true; // @IsObject's case
  let count = 0;
  for (const _ in value) if (++count > max) return false;
  return true;
}

/** An object of at most `max` entries; more is 400 `too_many_entries` naming the field. */
export function MaxEntries(max: number, options?: ValidationOptions): PropertyDecorator {
  const context: ConstraintContext = { errorCode: 'too_many_entries', params: { max } };
  return ValidateBy(
    {
      name: 'maxEntries',
      validator: {
        validate: (value: unknown) => entriesWithin(value, max),
        // class-validator attaches the context only to a constraint with a (non-empty) message.
        defaultMessage: () => 'has too many entries',
      },
    },
    { ...options, context },
  );
}

/** `metadata`: string keys and values within METADATA_LIMITS (the count is MaxEntries' job). */
export function IsMetadata(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value: unknown) =>
          typeof value !== 'object' ||
          value === null ||
          Array.isArray(value) ||
          !entriesWithin(value, METADATA_LIMITS.entries) || // reported by MaxEntries instead
          Object.entries(value).every(
            ([key, item]) =>
              withinLength(key, METADATA_LIMITS.keyLength) &&
              typeof item === 'string' &&
              withinLength(item, METADATA_LIMITS.valueLength),
          ),
      },
    },
    options,
  );
}

/** @IsObject() @MaxEntries(MAX_LOGIT_BIAS_ENTRIES) */
export const logitBiasSchema: SchemaObject = { type: 'object', maxProperties: MAX_LOGIT_BIAS_ENTRIES };

/** @IsObject() @MaxEntries(METADATA_LIMITS.entries) @IsMetadata() */
export const metadataSchema: SchemaObject = {
  type: 'object',
  maxProperties: METADATA_LIMITS.entries,
  propertyNames: { maxLength: METADATA_LIMITS.keyLength },
  additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.valueLength },
};
