import type { ResolvedModel } from '../../models/model-registry.service';
import { ModelRegistry } from '../../models/model-registry.service';
import { AutoRouter, parseRouting } from './auto-router.service';
import type { ChatCompletionService } from './chat-completion.service';
import { UpstreamLatency } from '../../upstream/upstream-latency';
import type { UpstreamPools } from '../../upstream/upstream-pools.service';
import type { UpstreamTarget } from '../../upstream/upstream-target';

const models = [
  { id: 'big', kind: 'chat', upstreams: ['u-big'], quality: 5, costPerMTokens: 10 },
  { id: 'small', kind: 'chat', upstreams: ['u-small'], quality: 2, costPerMTokens: 1 },
  { id: 'free', kind: 'chat', upstreams: ['u-free'] },
  { id: 'embed', kind: 'embedding', upstreams: ['u-small'], quality: 9, costPerMTokens: 0 },
];

function router(available: Record<string, boolean> = {}) {
  const config = {
    file: {
      upstreams: ['u-big', 'u-small', 'u-free'].map((id) => ({ id })),
      models: models.map((m) => ({ aliases: [], cache: { ttlSeconds: 0 }, ...m })),
    },
  };
  const registry = new ModelRegistry(config as never);
  const pools = {
    candidates: (m: ResolvedModel) =>
      m.upstreams.map((u) => ({ id: u.id, available: available[u.id] ?? true }) as UpstreamTarget),
  } as UpstreamPools;
  const latency = new UpstreamLatency();
  return { latency, auto: new AutoRouter(registry, pools, latency, {} as ChatCompletionService) };
}

const ids = (ranked: { model: ResolvedModel }[]) => ranked.map((c) => c.model.id);

describe('AutoRouter.rank', () => {
  it('orders chat models by quality, cost or latency; never a model of another kind', () => {
    const { auto, latency } = router();
    latency.observe('u-big', 900);
    latency.observe('u-small', 100);
    latency.observe('u-free', 400);
    expect(ids(auto.rank(null, 'quality'))).toEqual(['big', 'small', 'free']);
    expect(ids(auto.rank(null, 'cost'))).toEqual(['small', 'big', 'free']);
    expect(ids(auto.rank(null, 'speed'))).toEqual(['small', 'free', 'big']);
  });

  it('follows the moving average of latency', () => {
    const { auto, latency } = router();
    latency.observe('u-big', 100);
    latency.observe('u-small', 200);
    latency.observe('u-free', 300);
    expect(ids(auto.rank(null, 'speed'))[0]).toBe('big');
    for (let i = 0; i < 5; i++) latency.observe('u-big', 1000);
    expect(latency.get('u-big')).toBeGreaterThan(600);
    expect(ids(auto.rank(null, 'speed'))[0]).toBe('small');
  });

  it('puts models without a reachable upstream last and keeps to the allow-list', () => {
    const { auto } = router({ 'u-big': false });
    expect(ids(auto.rank(null, 'quality'))).toEqual(['small', 'free', 'big']);
    expect(ids(auto.rank(['free', 'embed'], 'quality'))).toEqual(['free']);
  });
});

describe('parseRouting', () => {
  it('defaults to cost with fallback', () => {
    expect(parseRouting(undefined)).toEqual({ prefer: 'cost', fallback: true });
    expect(parseRouting({})).toEqual({ prefer: 'cost', fallback: true });
    expect(parseRouting({ prefer: 'speed' })).toEqual({ prefer: 'speed', fallback: true });
    expect(parseRouting({ fallback: false })).toEqual({ prefer: 'cost', fallback: false });
    expect(parseRouting({ prefer: 'cost', fallback: true })).toEqual({ prefer: 'cost', fallback: true });
  });

  it.each([
    [[], 'routing'],
    [{ prefer: 'fastest' }, 'routing.prefer'],
    [{ fallback: 'yes' }, 'routing.fallback'],
  ])('refuses %j naming %s', (value, param) => {
    expect(() => parseRouting(value)).toThrow(expect.objectContaining({ param }));
  });
});
