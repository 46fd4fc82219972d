// The CA files of https upstreams (upstreams[].tls.ca), read once while the configuration loads. A file that
// is missing, unreadable or holds no valid PEM certificate is a configuration problem, so the gateway never
// starts with an upstream it could not verify, and `hunze config check` names the file.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HunzeConfigFile } from './config.schema';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export interface UpstreamCas {
  /** PEM text of each upstream's CA file, by upstream id (only upstreams that name one). */
  cas: Map<string, string>;
  problems: string[];
}

/** Reads every `tls.ca`; relative paths are taken from `baseDir` (the config file's directory). */
export function readUpstreamCas(file: HunzeConfigFile, baseDir: string): UpstreamCas {
  const cas = new Map<string, string>();
  const problems: string[] = [];
  file.upstreams.forEach((upstream, i) => {
    const tls = upstream.tls;
    if (!tls) return;
    if (!/^https:/i.test(upstream.baseUrl))
      problems.push(`upstreams[${i}].tls: set for an http base URL; use https or remove tls`);
    if (tls.ca === undefined) return;
    const path = resolve(baseDir, tls.ca);
    const read = readPem(path);
    if (typeof read === 'string') cas.set(upstream.id, read);
    else problems.push(`upstreams[${i}].tls.ca: ${path}: ${read.problem}`);
  });
  return { cas, problems };
}

/** The file's certificates (at least one, each valid) as PEM text; else what is wrong with the file. */
function readPem(path: string): string | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problem: `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return { problem: 'holds no PEM certificate' };
  for (const [n, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return { problem: `certificate ${n + 1} is not a valid X.509 certificate` };
    }
  }
  return blocks.join('\n'); // the certificates only: anything else in the file is not trusted
}
