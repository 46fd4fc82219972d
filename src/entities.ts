// Every TypeORM entity, each owned by its module. The database layer (src/database) sits below those modules,
// so it is handed this list (DatabaseModule.forRoot, createDataSource) instead of importing them.
import { AuditEventEntity } from './audit/audit-event.entity';
import { AccountEntity } from './auth/entities/account.entity';
import { ApiKeyEntity } from './auth/entities/api-key.entity';

// usage_records has no entity: its rows are inserted by SQL built from the request record's schema
// (src/core/usage-columns.ts) and read by aggregate queries.
export const ENTITIES = [AccountEntity, ApiKeyEntity, AuditEventEntity];
