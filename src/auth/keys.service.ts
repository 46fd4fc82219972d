// Key lifecycle: create (shown once), list, revoke. Every change is announced on the KeyChangeBus
// so each replica's key cache reloads it.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { ApiError } from '../core/errors';
import { parseInstant } from '../core/iso-instant';
import { AuditService } from '../audit/audit.service';
import { ModelRegistry } from '../models/model-registry.service';
import { CreateKeyDto } from './dto/create-key.dto';
import { toKeyResponse, type CreatedKeyResponseDto, type KeyResponseDto } from './dto/key-response.dto';
import { AccountEntity } from './entities/account.entity';
import { ApiKeyEntity } from './entities/api-key.entity';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { generateKey } from './key-material';

export const DEFAULT_ACCOUNT = 'default';
/** What PostgreSQL's uuid type accepts in its canonical form; anything else is an unknown key, not a 500. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class KeysService {
  private readonly keys: Repository<ApiKeyEntity>;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(KeyChangeBus) private readonly bus: KeyChangeBus,
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {
    this.keys = dataSource.getRepository(ApiKeyEntity);
  }

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
      const account = await this.findOrCreateAccount(
        tx.getRepository(AccountEntity),
        dto.account ?? DEFAULT_ACCOUNT,
      );
      const entity = tx.getRepository(ApiKeyEntity).create({
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
      });
      const row = await tx.getRepository(ApiKeyEntity).save(entity);
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
    const rows = await this.keys.find({ relations: { account: true }, order: { createdAt: 'ASC' } });
    return rows.map(toKeyResponse);
  }

  /** Revokes a key (idempotent); returns it, or throws not_found. */
  async revoke(id: string, actor = 'cli'): Promise<KeyResponseDto> {
    const row = await this.findById(id);
    if (!row) throw new ApiError('not_found');
    if (!row.revokedAt) {
      const revokedAt = new Date();
      await this.dataSource.transaction(async (tx) => {
        await tx.getRepository(ApiKeyEntity).update({ id }, { revokedAt });
        await this.audit.record({ actor, action: 'key.revoked', target: id }, tx);
      });
      row.revokedAt = revokedAt;
    }
    await this.bus.publish(id);
    return toKeyResponse(row);
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.keys.findOne({ where: { id }, relations: { account: true } });
  }

  findByHash(keyHash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOne({ where: { keyHash }, relations: { account: true } });
  }

  findAll(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ relations: { account: true } });
  }

  private async findOrCreateAccount(repo: Repository<AccountEntity>, name: string): Promise<AccountEntity> {
    await repo.createQueryBuilder().insert().values({ id: randomUUID(), name }).orIgnore().execute();
    return repo.findOneOrFail({ where: { name } });
  }
}
