// Key lifecycle: create (shown once), list, revoke. Every change is announced on the KeyChangeBus
// so each replica's key cache reloads it.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../core/errors';
import { parseInstant } from '../core/iso-instant';
import { AuditService } from '../audit/audit.service';
import { ModelRegistry } from '../models/model-registry.service';
import { CreateKeyDto } from './dto/create-key.dto';
import { toKeyResponse, type CreatedKeyResponseDto, type KeyResponseDto } from './dto/key-response.dto';
import { AccountsRepository } from './accounts.repository';
import { ApiKeysRepository, type ColumnInfo, type KeyLabel } from './api-keys.repository';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { generateKey } from './key-material';

export type { ColumnInfo, KeyLabel };

export const DEFAULT_ACCOUNT = 'default';

@Injectable()
export class KeysService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository,
    @Inject(AccountsRepository) private readonly accounts: AccountsRepository,
    @Inject(KeyChangeBus) private readonly bus: KeyChangeBus,
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** `actor`: the calling key's id (or 'break-glass' / 'local-cli'); 'cli' for the CLI on the database. */
  async create(dto: CreateKeyDto, actor = 'cli'): Promise<CreatedKeyResponseDto> {
    dto.models?.forEach((name, i) => {
      if (!this.models.resolve(name)) throw new ApiError('model_not_found', {}, `models[${i}]`);
    });
    const expiresAt = dto.expires_at ? (parseInstant(dto.expires_at) ?? null) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new ApiError(
        'invalid_request_error',
        { param: 'expires_at', reason: 'must be in the future' },
        'expires_at',
      );
    }
    const material = generateKey();
    const saved = await this.dataSource.transaction(async (tx) => {
      const account = await this.accounts.findOrCreate(dto.account ?? DEFAULT_ACCOUNT, tx);
      const row = await this.keys.insert(
        {
          id: randomUUID(),
          prefix: material.prefix,
          keyHash: material.hash,
          name: dto.name,
          role: dto.role ?? 'user',
          accountId: account.id,
          allowedModels: dto.models ?? null,
          rpm: dto.rpm ?? null,
          tpm: dto.tpm ?? null,
          monthlyTokens: dto.monthly_tokens ?? null,
          expiresAt,
          revokedAt: null,
        },
        tx,
      );
      row.account = account;
      await this.audit.record(
        {
          actor,
          action: 'key.created',
          target: row.id,
          details: { role: row.role, account: account.name, prefix: row.prefix },
        },
        tx,
      );
      return row;
    });
    await this.bus.publish(saved.id);
    return { ...toKeyResponse(saved), key: material.key };
  }

  async list(): Promise<KeyResponseDto[]> {
    const rows = await this.keys.findAll();
    return rows.map(toKeyResponse);
  }

  /** Revokes a key (idempotent); returns it, or throws not_found. */
  async revoke(id: string, actor = 'cli'): Promise<KeyResponseDto> {
    const row = await this.findById(id);
    if (!row) throw new ApiError('not_found');
    if (!row.revokedAt) {
      const revokedAt = new Date();
      await this.dataSource.transaction(async (tx) => {
        await this.keys.revoke(id, revokedAt, tx);
        await this.audit.record({ actor, action: 'key.revoked', target: id }, tx);
      });
      row.revokedAt = revokedAt;
    }
    await this.bus.publish(id);
    return toKeyResponse(row);
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.keys.findById(id);
  }

  findByHash(keyHash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findByHash(keyHash);
  }

  findAll(): Promise<ApiKeyEntity[]> {
    return this.keys.findAll();
  }

  /** Name and prefix of the keys among `ids` (those that exist), for listings that name keys by id. */
  labels(ids: readonly string[]): Promise<Map<string, KeyLabel>> {
    return this.keys.labels(ids);
  }

  /** The api_keys table's columns as the database reports them, sorted by name (the reports' evidence). */
  columns(): Promise<ColumnInfo[]> {
    return this.keys.columns();
  }
}
