// With the embedded database only the running server may open the data directory, so the CLI on the same
// machine manages keys through the server's admin API instead. The server writes a random token, readable
// by its own user only, to <dataDir>/cli.json; reading that file already requires access to the data.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CliEndpoint {
  pid: number;
  url: string;
  token: string;
}

export const cliEndpointFile = (dataDir: string) => join(dataDir, 'cli.json');

export function newCliToken(): string {
  return randomBytes(32).toString('base64url');
}

export function writeCliEndpoint(dataDir: string, endpoint: CliEndpoint): void {
  writeFileSync(cliEndpointFile(dataDir), JSON.stringify(endpoint), { mode: 0o600 });
}

export function removeCliEndpoint(dataDir: string, pid: number): void {
  if (readEndpointFile(dataDir)?.pid === pid) rmSync(cliEndpointFile(dataDir), { force: true });
}

/** The running server's endpoint, or undefined when none is running. */
export function readCliEndpoint(dataDir: string): CliEndpoint | undefined {
  const endpoint = readEndpointFile(dataDir);
  // Left by a process that died and whose pid we now have (a container's entrypoint is pid 1 every start).
  if (!endpoint || endpoint.pid === process.pid) return undefined;
  try {
    process.kill(endpoint.pid, 0); // throws when the process is gone
    return endpoint;
  } catch {
    return undefined;
  }
}

function readEndpointFile(dataDir: string): CliEndpoint | undefined {
  try {
    return JSON.parse(readFileSync(cliEndpointFile(dataDir), 'utf8')) as CliEndpoint;
  } catch {
    return undefined;
  }
}
