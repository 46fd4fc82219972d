// Everything a report states about the running system, read once per generation: the configuration, the
// keys per account (counts only: never a key, a hash or a prefix), the api_keys table's columns, the audit
// chain's verification right now, and where the database and Redis live. The builders are pure functions
// of this object, so the same state gives the same document.
import { Inject, Injectable } from '@nestjs/common';
import type { KeyResponseDto } from '../auth/dto/key-response.dto';
import { KeysService, type ColumnInfo } from '../auth/keys.service';
import type { HunzeConfigFile } from '../config/config.schema';
import { HunzeConfig } from '../config/hunze-config';
import { AuditService, type VerifyResult } from '../audit/audit.service';
import { productVersion } from './report-data';
import { locateUrl, type ServiceLocation } from './service-location';

export interface AccountKeys {
  account: string;
  active: number;
  admin: number;
  dpo: number;
  user: number;
  /** Active keys limited to listed models. */
  modelLimited: number;
}

export type DatabaseLocation =
  { embedded: true; directory: string } | { embedded: false; location: ServiceLocation | undefined };

export interface ReportEvidence {
  generatedAt: string;
  productVersion: string;
  fingerprint: string;
  sourcePath: string;
  file: HunzeConfigFile;
  adminKeyConfigured: boolean;
  /** Sorted by account name. */
  accounts: AccountKeys[];
  /** Columns of api_keys, sorted by name. */
  keyColumns: ColumnInfo[];
  audit: VerifyResult;
  database: DatabaseLocation;
  /** null: Redis is not configured; undefined location: configured but not parseable. */
  redis: { location: ServiceLocation | undefined } | null;
}

/** Where images requested as a URL are held until they expire: never on disk, and never in the database. */
export function imagesHeldIn(e: ReportEvidence): string {
  return e.redis
    ? "Redis's memory, shared by the replicas (redis.url; a Redis that writes to disk is given none)"
    : "the appliance's memory";
}

export function countKeys(keys: readonly KeyResponseDto[], now: number): AccountKeys[] {
  const byAccount = new Map<string, AccountKeys>();
  for (const key of keys) {
    const name = key.account ?? '(no account)';
    const entry = byAccount.get(name) ?? {
      account: name,
      active: 0,
      admin: 0,
      dpo: 0,
      user: 0,
      modelLimited: 0,
    };
    byAccount.set(name, entry);
    const expired = key.expires_at !== null && Date.parse(key.expires_at) <= now;
    if (key.revoked_at !== null || expired) continue;
    entry.active += 1;
    if (key.role === 'admin' || key.role === 'dpo' || key.role === 'user') entry[key.role] += 1;
    if (key.models !== null) entry.modelLimited += 1;
  }
  return [...byAccount.values()].sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
}

@Injectable()
export class ReportEvidenceCollector {
  constructor(
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(KeysService) private readonly keys: KeysService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async collect(now = new Date()): Promise<ReportEvidence> {
    const config = this.config;
    // One after another: the embedded database has a single session.
    const keys = await this.keys.list();
    // The schema as the database reports it, not as the code believes it to be.
    const keyColumns = await this.keys.columns();
    const audit = await this.audit.verify();
    return {
      generatedAt: now.toISOString(),
      productVersion,
      fingerprint: config.fingerprint,
      sourcePath: config.sourcePath,
      file: config.file,
      adminKeyConfigured: Boolean(config.file.auth.adminKey),
      accounts: countKeys(keys, now.getTime()),
      keyColumns,
      audit,
      database: config.databaseUrl
        ? { embedded: false, location: locateUrl(config.databaseUrl, '5432') }
        : { embedded: true, directory: `${config.dataDir}/pglite` },
      redis: config.redisUrl ? { location: locateUrl(config.redisUrl, '6379') } : null,
    };
  }
}
