// What upstream/ and gateway/ count into /metrics, and nothing else: they never see the registry or the
// request series (those come from the request record). Declared here, below them; MetricsService provides it.

/** An upstream as hunze_upstream_up sees it. */
export interface UpstreamHealth {
  readonly id: string;
  readonly available: boolean;
}

export abstract class GatewayMetrics {
  /** Where hunze_upstream_up reads the upstreams' availability at each scrape (the gateway's pools). */
  abstract watchUpstreams(source: () => Iterable<UpstreamHealth>): void;
  /** Counts a stream as open (hunze_open_streams); the returned function closes it, however often called. */
  abstract streamOpened(): () => void;
  /** hunze_response_cache_hits_total or hunze_response_cache_misses_total. */
  abstract responseCacheLookup(model: string, hit: boolean): void;
  /** hunze_media_fetches_total: `ok`, or the refusal reason. */
  abstract mediaFetched(outcome: string): void;
}
