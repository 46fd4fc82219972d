// The allowlisted metadata record: the only thing about a request that logs, traces and metrics ever see.
// It is built field by field from our own values; no request or response body can reach it.

export interface RequestMetadata {
  time: string;
  requestId: string;
  method: string;
  endpoint: string;
  status: number;
  latencyMs: number;
  keyId?: string;
  account?: string;
  model?: string;
  upstream?: string;
  failovers?: number;
  stream?: boolean;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  ttftMs?: number;
  audioSeconds?: number;
  errorCode?: string;
  cache?: 'hit' | 'miss';
}

export const METADATA_FIELDS: readonly (keyof RequestMetadata)[] = [
  'time',
  'requestId',
  'method',
  'endpoint',
  'status',
  'latencyMs',
  'keyId',
  'account',
  'model',
  'upstream',
  'failovers',
  'stream',
  'promptTokens',
  'completionTokens',
  'totalTokens',
  'ttftMs',
  'audioSeconds',
  'errorCode',
  'cache',
];

/** Copies only allowlisted, primitive fields: a guard against a future caller passing a richer object. */
export function toMetadata(input: Readonly<Record<string, unknown>>): Partial<RequestMetadata> {
  const out: Record<string, unknown> = {};
  for (const field of METADATA_FIELDS) {
    const value = input[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      out[field] = value;
  }
  return out;
}
