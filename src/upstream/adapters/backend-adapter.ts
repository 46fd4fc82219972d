// The one shape every backend kind (vLLM, TEI, WhisperX, FLUX) takes: the path it serves, the request it is
// sent for an input, and how its whole answer is checked and read. The relay sends what an adapter makes
// (Relay.through); the gateway's services choose the adapter and the input, never the wire details.
import type { Readable } from 'node:stream';
import type { ResolvedModel } from '../../models/model-registry.service';

export interface BackendRequest {
  body: string | Buffer | Readable;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface BackendAdapter<In, Out> {
  /** Path below the upstream's baseUrl, e.g. `/embeddings`. */
  readonly path: string;
  /** What the upstream is sent for `input`; the model's canonical id replaces any alias. */
  request(input: In, model: ResolvedModel): BackendRequest;
  /** A whole 2xx JSON answer, checked: anything but what was asked for is `upstream_error` (502). */
  read(answer: Record<string, unknown>, input: In): Out;
}
