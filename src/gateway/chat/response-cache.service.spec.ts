import type { Principal } from '../../core/principal';
import { MetricsService } from '../../metering/metrics.service';
import type { ResolvedModel } from '../../models/model-registry.service';
import { canonicalJson, isDeterministic, ResponseCache } from './response-cache.service';

const model = (ttlSeconds: number) =>
  ({ id: 'm', config: { cache: { ttlSeconds } } }) as unknown as ResolvedModel;
const principal = (accountId: string | null, keyId = 'k1') => ({ accountId, keyId }) as Principal;

describe('response cache keys', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: null }] })).toBe(
      '{"a":[{"b":null,"d":2}],"b":1}',
    );
  });

  it.each([
    [{ temperature: 0 }, true],
    [{ temperature: 0.5, seed: 3 }, true],
    [{ temperature: 0, stream: true }, false],
    [{ temperature: 0.5 }, false],
    [{}, false],
    [{ seed: 1.5 }, false],
  ])('deterministic(%j) = %s', (body, expected) => expect(isDeterministic(body)).toBe(expected));

  it('separates tenants, and is off without a TTL', () => {
    const cache = new ResponseCache(new MetricsService());
    const body = { model: 'm', messages: [], temperature: 0 };
    const a = cache.keyFor(model(60), '/chat/completions', body, principal('acct-a'));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(cache.keyFor(model(60), '/chat/completions', body, principal('acct-a', 'k2'))).toBe(a);
    expect(cache.keyFor(model(60), '/chat/completions', body, principal('acct-b'))).not.toBe(a);
    expect(cache.keyFor(model(60), '/chat/completions', body, principal(null))).not.toBe(a);
    expect(cache.keyFor(model(0), '/chat/completions', body, principal('acct-a'))).toBeUndefined();
  });

  it('stores, counts hits and misses, and skips answers larger than the entry limit', async () => {
    const metrics = new MetricsService();
    const cache = new ResponseCache(metrics);
    cache.set('k', model(60), { text: '{"a":1}', usage: null });
    cache.set('big', model(60), { text: 'x'.repeat(2 * 1024 * 1024), usage: null });
    expect(cache.get('k', model(60))?.text).toBe('{"a":1}');
    expect(cache.get('big', model(60))).toBeUndefined();
    expect(cache.size.entries).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hunze_response_cache_hits_total{model="m"} 1');
    expect(text).toContain('hunze_response_cache_misses_total{model="m"} 1');
  });
});
