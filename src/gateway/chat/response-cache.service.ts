// Optional exact-match cache of deterministic chat answers, per model (`models[].cache.ttlSeconds`, 0 = off).
// Process memory only, never persisted or logged; bounded by bytes (least recently used entries go first).
// Deterministic means: not streamed, and `temperature: 0` or an integer `seed`. The key is the SHA-256 of the
// canonical upstream request (keys sorted; it names the canonical model id) and the caller's account (or key,
// for keys without an account), so one tenant never receives an answer another tenant's prompt produced.
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../../core/principal';
import { GatewayMetrics } from '../../metering/gateway-metrics';
import type { ResolvedModel } from '../../models/model-registry.service';
import type { Usage } from '../../upstream/sse-relay.transform';

/** All cached answers together stay below this (UTF-16 string size, roughly what they occupy in memory). */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** A larger answer is not cached at all. */
export const CACHE_MAX_ENTRY_BYTES = 2 * 1024 * 1024;

export interface CachedAnswer {
  text: string;
  usage: Usage | null;
}

interface CacheableBody {
  stream?: unknown;
  temperature?: unknown;
  seed?: unknown;
}

export function isDeterministic(body: CacheableBody): boolean {
  return body.stream !== true && (body.temperature === 0 || Number.isInteger(body.seed));
}

/** JSON with object keys sorted at every level, so key order never splits the cache. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

@Injectable()
export class ResponseCache {
  private readonly entries = new LRUCache<string, CachedAnswer>({
    maxSize: CACHE_MAX_BYTES,
    maxEntrySize: CACHE_MAX_ENTRY_BYTES,
    sizeCalculation: (answer) => answer.text.length * 2 + 64,
  });

  constructor(@Inject(GatewayMetrics) private readonly metrics: GatewayMetrics) {}

  enabledFor(model: ResolvedModel): boolean {
    return model.config.cache.ttlSeconds > 0;
  }

  /** The cache key for this upstream request, or undefined when it may not be cached. */
  keyFor(
    model: ResolvedModel,
    path: string,
    upstreamBody: CacheableBody,
    principal: Principal,
  ): string | undefined {
    if (!this.enabledFor(model) || !isDeterministic(upstreamBody)) return undefined;
    const tenant = principal.accountId ? `account:${principal.accountId}` : `key:${principal.keyId}`;
    return createHash('sha256')
      .update(`${tenant}\n${model.id}\n${path}\n${canonicalJson(upstreamBody)}`)
      .digest('hex');
  }

  /** Counts a hit or a miss for /metrics. */
  get(key: string, model: ResolvedModel): CachedAnswer | undefined {
    const answer = this.entries.get(key);
    this.metrics.responseCacheLookup(model.id, answer !== undefined);
    return answer;
  }

  set(key: string, model: ResolvedModel, answer: CachedAnswer): void {
    this.entries.set(key, answer, { ttl: model.config.cache.ttlSeconds * 1000 });
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}
