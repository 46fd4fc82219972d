// Percentiles and small summaries over measured samples (milliseconds unless named otherwise).
'use strict';

/** The q-quantile (0..1) of `values` by nearest rank; NaN when empty. */
function percentile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

function summary(values) {
  return {
    n: values.length,
    p50: percentile(values, 0.5),
    p90: percentile(values, 0.9),
    p99: percentile(values, 0.99),
    max: values.length ? values.reduce((a, b) => (b > a ? b : a), -Infinity) : NaN,
  };
}

module.exports = { percentile, summary };
