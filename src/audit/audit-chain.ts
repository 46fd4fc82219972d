// The audit hash chain: how a row is hashed and how a sequence of rows is checked. Pure functions, no I/O.
// hash = SHA-256 of a canonical JSON array of the row's fields (object keys sorted) ending in prev_hash, so
// changing any field breaks that row's hash, and deleting a row breaks the next row's seq and prev_hash.
import { createHash } from 'node:crypto';

export const AUDIT_ACTIONS = [
  'key.created',
  'key.revoked',
  'account.limits_set',
  'config.loaded',
  'report.exported',
  'residency.violation',
  'audit.pruned',
  'usage.pruned',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** prev_hash of the very first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** Values a details object may hold: metadata only (ids, counts, fingerprints), never request content. */
export type AuditDetail = string | number | boolean | null | readonly AuditDetail[] | AuditDetails;
export interface AuditDetails {
  readonly [key: string]: AuditDetail;
}

export interface ChainRow {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  target: string | null;
  details: AuditDetails;
  prevHash: string;
  hash: string;
}

/** Where the stored chain starts: the genesis, or the last row a retention run pruned. */
export interface ChainAnchor {
  seq: number;
  hash: string;
}
export const GENESIS_ANCHOR: ChainAnchor = { seq: 0, hash: GENESIS_HASH };

export type BreakReason = 'hash_mismatch' | 'prev_hash_mismatch' | 'missing_rows';

export interface ChainBreak {
  seq: number;
  reason: BreakReason;
  /** For missing_rows: the seq that should have come next. */
  expected_seq?: number;
}

/** JSON with object keys sorted at every level: the same value always serialises to the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export function hashRow(row: Omit<ChainRow, 'hash'>): string {
  const fields = [
    row.seq,
    row.occurredAt.toISOString(),
    row.actor,
    row.action,
    row.target,
    row.details,
    row.prevHash,
  ];
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** Checks rows fed in seq order; remembers the first break. */
export class ChainVerifier {
  checked = 0;
  firstBroken: ChainBreak | undefined;
  private expected: ChainAnchor;

  constructor(anchor: ChainAnchor) {
    this.expected = anchor;
  }

  /** Returns false once the chain is broken (no point reading further). */
  push(row: ChainRow): boolean {
    if (this.firstBroken) return false;
    this.checked++;
    if (row.seq !== this.expected.seq + 1) {
      this.firstBroken = { seq: row.seq, reason: 'missing_rows', expected_seq: this.expected.seq + 1 };
    } else if (row.prevHash !== this.expected.hash) {
      this.firstBroken = { seq: row.seq, reason: 'prev_hash_mismatch' };
    } else if (hashRow(row) !== row.hash) {
      this.firstBroken = { seq: row.seq, reason: 'hash_mismatch' };
    }
    this.expected = { seq: row.seq, hash: row.hash };
    return !this.firstBroken;
  }
}

export function describeBreak(b: ChainBreak): string {
  switch (b.reason) {
    case 'hash_mismatch':
      return `row ${b.seq}: its content does not match its hash (edited)`;
    case 'prev_hash_mismatch':
      return `row ${b.seq}: prev_hash does not match the hash of the row before it (edited or replaced)`;
    case 'missing_rows':
      return `row ${b.seq}: rows from ${b.expected_seq} to ${b.seq - 1} are missing (deleted)`;
  }
}
