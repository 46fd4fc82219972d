// How a CLI command reaches the appliance's services. With Postgres (or the embedded database when no server
// holds it) it starts the services in-process; with the embedded database held by a running server it goes
// through that server's admin API with the local CLI token (src/auth/local-cli-token.ts), since only one
// process may open the embedded database.
import type { INestApplicationContext } from '@nestjs/common';
import { readCliEndpoint, type CliEndpoint } from '../auth/local-cli-token';
import type { OpenAiErrorBody } from '../core/errors';
import type { HunzeConfig } from '../config/hunze-config';
import { usesEmbeddedDatabase } from '../database/data-source';

/** The running server's admin API (`/admin/v1`), as the local CLI token's admin. */
export class AdminApiClient {
  constructor(private readonly server: CliEndpoint) {}

  /** A raw response (binary downloads); a non-2xx answer throws with the catalogue message. */
  async fetch(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const response = await fetch(`${this.server.url}/admin/v1${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${this.server.token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!response.ok) {
      const error = (await response.json().catch(() => ({}))) as Partial<OpenAiErrorBody>;
      throw new Error(error.error?.message ?? `HTTP ${response.status}`);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.fetch(path, { method, body })).json()) as T;
  }
}

export type Closable<T> = T & { close(): Promise<void> };

/** The command's operations, in-process or through the running server. */
export async function openAppliance<T extends object>(
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
  ways: { local: (app: INestApplicationContext) => T; remote: (api: AdminApiClient) => T },
): Promise<Closable<T>> {
  const server = usesEmbeddedDatabase(config) ? readCliEndpoint(config.dataDir) : undefined;
  if (server) return { ...ways.remote(new AdminApiClient(server)), close: async () => undefined };
  const app = await context();
  return { ...ways.local(app), close: () => app.close() };
}

/** A whole-number option as a number; anything else is passed on for the DTO's validation to name. */
export function integerOption(value: unknown): unknown {
  return typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : value) : undefined;
}
