// Adds `_routing` (which model "auto" chose, and why) to the first chunk of a routed chat stream, without
// holding anything back: every event passes on as soon as it is parsed.
import { parseJsonObject, SseEventsTransform } from '../../upstream/sse-events.transform';

export class RoutingAnnotateTransform extends SseEventsTransform {
  private annotated = false;

  constructor(private readonly routing: object) {
    super();
  }

  protected onData(data: string): void {
    if (!this.annotated && data !== '[DONE]') {
      const chunk = parseJsonObject(data);
      if (chunk && 'choices' in chunk) {
        this.annotated = true;
        this.push(`data: ${JSON.stringify({ ...chunk, _routing: this.routing })}\n\n`);
        return;
      }
    }
    this.push(`data: ${data.replaceAll('\n', '\ndata: ')}\n\n`);
  }
}
