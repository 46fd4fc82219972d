// The audit log: append (record), read (list), check (verify) and retention (prune). Appends take a
// transaction-level advisory lock around "read the last hash, insert", so replicas sharing a database
// never fork the chain. Details are metadata only: ids, counts, fingerprints, never request content.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HunzeConfig } from '../config/hunze-config';
import {
  ChainVerifier,
  GENESIS_ANCHOR,
  hashRow,
  type AuditAction,
  type AuditDetails,
  type ChainAnchor,
  type ChainBreak,
  type ChainRow,
} from './audit-chain';

/** Serialises appends across replicas (pg_advisory_xact_lock key). */
const AUDIT_LOCK = 0x68756e61; // "huna"
const BATCH = 1000;
const DAY_MS = 86_400_000;

export interface AuditEventInput {
  /** A key id, 'break-glass', 'local-cli', 'cli' or 'system'. */
  actor: string;
  action: AuditAction;
  target?: string | null;
  details?: AuditDetails;
}

export interface AuditQuery {
  from?: Date;
  to?: Date;
  action?: AuditAction;
  /** Only rows with seq greater than this (paging). */
  after?: number;
  limit: number;
}

export interface AuditEventDto {
  seq: number;
  occurred_at: string;
  actor: string;
  action: string;
  target: string | null;
  details: AuditDetails;
  prev_hash: string;
  hash: string;
}

export interface VerifyResult {
  valid: boolean;
  checked: number;
  /** The anchor the walk started from: seq 0 (genesis) or the last row retention pruned. */
  anchor_seq: number;
  firstBroken?: ChainBreak;
}

export interface PruneResult {
  pruned: number;
  lastSeq?: number;
}

interface RawRow {
  seq: string | number;
  occurred_at: Date | string;
  actor: string;
  action: string;
  target: string | null;
  details: AuditDetails | string;
  prev_hash: string;
  hash: string;
}

interface SeqHash {
  seq: string | number;
  hash: string;
}

const COLUMNS = 'seq, occurred_at, actor, action, target, details, prev_hash, hash';

function toRow(raw: RawRow): ChainRow {
  return {
    seq: Number(raw.seq),
    occurredAt: new Date(raw.occurred_at),
    actor: raw.actor,
    action: raw.action,
    target: raw.target,
    details: typeof raw.details === 'string' ? (JSON.parse(raw.details) as AuditDetails) : raw.details,
    prevHash: raw.prev_hash,
    hash: raw.hash,
  };
}

export function toAuditDto(row: ChainRow): AuditEventDto {
  return {
    seq: row.seq,
    occurred_at: row.occurredAt.toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

@Injectable()
export class AuditService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
  ) {}

  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Appends one event. Pass `manager` to write it inside the caller's transaction (the event then commits
   * or rolls back with the change it records).
   */
  async record(event: AuditEventInput, manager?: EntityManager): Promise<ChainRow> {
    if (manager) return this.serial(() => this.append(manager, event));
    return this.serial(() => this.dataSource.transaction((tx) => this.append(tx, event)));
  }

  /**
   * Appends from this process one at a time. The advisory lock serialises replicas, but the embedded
   * database has a single session for every transaction, where a session-scoped lock does not exclude.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async append(tx: EntityManager, event: AuditEventInput): Promise<ChainRow> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const last = await tx.query<SeqHash[]>('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
    const prev = last[0] ? { seq: Number(last[0].seq), hash: last[0].hash } : GENESIS_ANCHOR;
    const unhashed = {
      seq: prev.seq + 1,
      occurredAt: new Date(),
      actor: event.actor,
      action: event.action,
      target: event.target ?? null,
      details: event.details ?? {},
      prevHash: prev.hash,
    };
    const row: ChainRow = { ...unhashed, hash: hashRow(unhashed) };
    await tx.query(`INSERT INTO audit_events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`, [
      row.seq,
      row.occurredAt.toISOString(),
      row.actor,
      row.action,
      row.target,
      JSON.stringify(row.details),
      row.prevHash,
      row.hash,
    ]);
    return row;
  }

  async list(query: AuditQuery): Promise<{ rows: ChainRow[]; hasMore: boolean }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.from) add('occurred_at >= ?', query.from.toISOString());
    if (query.to) add('occurred_at < ?', query.to.toISOString());
    if (query.action) add('action = ?', query.action);
    if (query.after !== undefined) add('seq > ?', query.after);
    params.push(query.limit + 1);
    const raw = await this.dataSource.query<RawRow[]>(
      `SELECT ${COLUMNS} FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq ASC LIMIT $${params.length}`,
      params,
    );
    return { rows: raw.slice(0, query.limit).map(toRow), hasMore: raw.length > query.limit };
  }

  /** Every row in seq order, in batches (for export). */
  async *all(): AsyncGenerator<ChainRow> {
    let after = 0;
    for (;;) {
      const { rows, hasMore } = await this.list({ after, limit: BATCH });
      yield* rows;
      const last = rows[rows.length - 1];
      if (!hasMore || !last) return;
      after = last.seq;
    }
  }

  /** Walks the chain from its anchor in seq order; reports the first broken row. */
  async verify(): Promise<VerifyResult> {
    const anchor = await this.anchor();
    const verifier = new ChainVerifier(anchor);
    for await (const row of this.all()) {
      if (!verifier.push(row)) break;
    }
    return {
      valid: !verifier.firstBroken,
      checked: verifier.checked,
      anchor_seq: anchor.seq,
      ...(verifier.firstBroken ? { firstBroken: verifier.firstBroken } : {}),
    };
  }

  /**
   * Deletes the rows older than `retention.auditDays` from the start of the chain, then appends an
   * `audit.pruned` event naming the count and the last pruned row's seq and hash: the anchor verify
   * starts from. One transaction under the append lock.
   */
  async prune(now = Date.now()): Promise<PruneResult> {
    const cutoff = new Date(now - this.config.file.retention.auditDays * DAY_MS);
    return this.serial(() =>
      this.dataSource.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
        // The prefix of the chain older than the cutoff: up to the row before the first newer one.
        const bound = await tx.query<SeqHash[]>(
          `SELECT seq, hash FROM audit_events
          WHERE seq < COALESCE((SELECT min(seq) FROM audit_events WHERE occurred_at >= $1), 9223372036854775807)
            AND occurred_at < $1
          ORDER BY seq DESC LIMIT 1`,
          [cutoff.toISOString()],
        );
        const last = bound[0];
        if (!last) return { pruned: 0 };
        const lastSeq = Number(last.seq);
        const counted = await tx.query<{ n: number }[]>(
          'SELECT count(*)::int AS n FROM audit_events WHERE seq <= $1',
          [lastSeq],
        );
        const pruned = Number(counted[0]?.n ?? 0);
        await tx.query('DELETE FROM audit_events WHERE seq <= $1', [lastSeq]);
        await this.append(tx, {
          actor: 'system',
          action: 'audit.pruned',
          details: {
            pruned,
            lastSeq,
            lastHash: last.hash,
            auditDays: this.config.file.retention.auditDays,
            cutoff: cutoff.toISOString(),
          },
        });
        return { pruned, lastSeq };
      }),
    );
  }

  /** The newest `audit.pruned` event names where the stored chain starts; without one, the genesis. */
  private async anchor(): Promise<ChainAnchor> {
    const raw = await this.dataSource.query<Pick<RawRow, 'details'>[]>(
      `SELECT details FROM audit_events WHERE action = 'audit.pruned' ORDER BY seq DESC LIMIT 1`,
    );
    const first = raw[0];
    if (!first) return GENESIS_ANCHOR;
    const details =
      typeof first.details === 'string' ? (JSON.parse(first.details) as AuditDetails) : first.details;
    const seq = details.lastSeq;
    const hash = details.lastHash;
    if (typeof seq !== 'number' || typeof hash !== 'string') return GENESIS_ANCHOR;
    return { seq, hash };
  }
}
