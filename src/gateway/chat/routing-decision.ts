// Model "auto" and what a response says about the choice: shared by AutoRouter and ChatCompletionService.

export const AUTO_MODEL = 'auto';

/** What the response says about the choice (`_routing`), when the client sent `routing`. */
export interface RoutingDecision {
  original_model: typeof AUTO_MODEL;
  mapped_model: string;
  reason: string;
}
