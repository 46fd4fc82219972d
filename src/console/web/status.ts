// Status and error messages, in live regions so screen readers announce them.
import { ApiFailure } from './api.js';
import { byId } from './dom.js';

export function announce(message: string): void {
  byId('alert').textContent = '';
  const status = byId('status');
  // Cleared first so the same message twice is announced twice.
  status.textContent = '';
  requestAnimationFrame(() => (status.textContent = message));
}

export function showError(error: unknown, context?: string): void {
  byId('status').textContent = '';
  const message = error instanceof ApiFailure || error instanceof Error ? error.message : String(error);
  byId('alert').textContent = context ? `${context}: ${message}` : message;
}

export function clearMessages(): void {
  byId('status').textContent = '';
  byId('alert').textContent = '';
}

/** Runs an action with its button disabled; errors end up in the alert region. */
export async function busy(
  button: HTMLButtonElement | null,
  context: string,
  action: () => Promise<void>,
): Promise<void> {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error, context);
  } finally {
    if (button) button.disabled = false;
  }
}
