// Query strings are whitelist-only: a parameter an endpoint does not know is refused (OpenAI's
// unknown_parameter) rather than ignored, so a misspelt `group-by` cannot silently give another answer.
// The refusal names `query`, never the parameter: its name is the client's text.
import type { PipeTransform } from '@nestjs/common';
import { ApiError } from './errors';

export class KnownQueryParams implements PipeTransform<unknown, Record<string, unknown>> {
  private readonly accepted: ReadonlySet<string>;

  constructor(...accepted: string[]) {
    this.accepted = new Set(accepted);
  }

  transform(query: unknown): Record<string, unknown> {
    const params = (query ?? {}) as Record<string, unknown>;
    // Own keys only, `__proto__` included (Fastify's parser gives a null-prototype object).
    if (Object.keys(params).some((name) => !this.accepted.has(name)))
      throw new ApiError('unknown_parameter', { accepted: [...this.accepted].join(', ') }, 'query');
    return params;
  }
}
