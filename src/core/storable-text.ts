// Names Hunze stores and shows (key names, account names). PostgreSQL refuses a NUL in text (a 500 before
// this check), an unpaired UTF-16 surrogate would be stored silently as U+FFFD, and control characters in a
// name would reach terminals through `hunze keys list`; all of them are refused up front instead.
import { ValidateBy, type ValidationOptions } from 'class-validator';

/** C0 and C1 control characters (NUL included) and DEL. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const STORABLE_TEXT_REASON = 'must not contain control characters or unpaired surrogates';

export function isStorableText(value: unknown): value is string {
  return typeof value === 'string' && !CONTROL.test(value) && !UNPAIRED_SURROGATE.test(value);
}

/** class-validator decorator; its constraint name `isStorableText` is worded by the validation pipe. */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isStorableText', validator: { validate: isStorableText } }, options);
}
