// Turns a parsed JSON body into the DTO instance class-validator checks, in time linear in the body's size.
// class-transformer's plainToInstance deep-copies every untyped object and de-duplicates each object's keys
// with indexOf, quadratic in the key count: seconds of blocked event loop for one object of 50,000 keys.
// Here only what the DTOs declare with @Type(() => Nested) becomes an instance; every other value is
// passed by reference, unchanged (class-validator only reads it).
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';

type Ctor = new () => object;

/**
 * `constructor` and `__proto__` keys of a DTO-level object are renamed `(constructor)`, `(__proto__)`: as own
 * properties they would change what class-validator takes for the instance's class, or its prototype. They
 * stay unknown fields (refused by a strict DTO, ignored otherwise).
 */
export function toDtoInstance<T extends object>(dto: new () => T, plain: object): T {
  return fill(dto, plain) as T;
}

function fill(dto: Ctor, plain: object): object {
  const instance = new dto() as Record<string, unknown>;
  for (const key of Object.keys(plain)) {
    const value = (plain as Record<string, unknown>)[key];
    const nested = defaultMetadataStorage.findTypeMetadata(dto, key)?.typeFunction() as Ctor | undefined;
    const safeKey = key === 'constructor' || key === '__proto__' ? `(${key})` : key;
    instance[safeKey] = nested ? typed(nested, value) : value;
  }
  return instance;
}

/** A value declared as `nested` (or an array of them): objects become instances, the rest stays as sent. */
function typed(nested: Ctor, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => typed(nested, item));
  if (typeof value === 'object' && value !== null) return fill(nested, value);
  return value;
}
