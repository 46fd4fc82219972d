import {
  canonicalJson,
  ChainVerifier,
  describeBreak,
  GENESIS_ANCHOR,
  GENESIS_HASH,
  hashRow,
  type ChainRow,
} from './audit-chain';

function chain(n: number): ChainRow[] {
  const rows: ChainRow[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const unhashed = {
      seq,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
      actor: 'system',
      action: 'config.loaded',
      target: null,
      details: { fingerprint: `f${seq}`, nested: { b: 1, a: [1, 'x'] } },
      prevHash,
    };
    const row = { ...unhashed, hash: hashRow(unhashed) };
    rows.push(row);
    prevHash = row.hash;
  }
  return rows;
}

const verify = (rows: ChainRow[], anchor = GENESIS_ANCHOR) => {
  const v = new ChainVerifier(anchor);
  for (const row of rows) if (!v.push(row)) break;
  return v;
};

describe('audit chain', () => {
  it('serialises objects with sorted keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('hashes the same row the same way whatever the key order of its details', () => {
    const [row] = chain(1);
    const reordered = { ...row!, details: { nested: { a: [1, 'x'], b: 1 }, fingerprint: 'f1' } };
    expect(hashRow(reordered)).toBe(row!.hash);
  });

  it('accepts an intact chain', () => {
    const v = verify(chain(5));
    expect(v.firstBroken).toBeUndefined();
    expect(v.checked).toBe(5);
  });

  it.each([
    ['actor', { actor: 'x' }],
    ['action', { action: 'key.created' }],
    ['target', { target: 'k' }],
    ['details', { details: { fingerprint: 'f3' } }],
    ['occurred_at', { occurredAt: new Date(0) }],
  ])('names a row whose %s changed', (_, change) => {
    const rows = chain(5);
    rows[2] = { ...rows[2]!, ...change };
    expect(verify(rows).firstBroken).toEqual({ seq: 3, reason: 'hash_mismatch' });
  });

  it('names the row after a deleted one, and a row re-linked to a forged predecessor', () => {
    const rows = chain(5);
    const deleted = verify([rows[0]!, rows[1]!, rows[3]!, rows[4]!]).firstBroken!;
    expect(deleted).toEqual({ seq: 4, reason: 'missing_rows', expected_seq: 3 });
    expect(describeBreak(deleted)).toBe('row 4: rows from 3 to 3 are missing (deleted)');
    rows[2] = { ...rows[2]!, hash: 'f'.repeat(64) };
    expect(verify(rows).firstBroken).toEqual({ seq: 3, reason: 'hash_mismatch' });
    rows[2] = chain(5)[2]!;
    rows[3] = { ...rows[3]!, prevHash: 'e'.repeat(64) };
    expect(verify(rows).firstBroken).toEqual({ seq: 4, reason: 'prev_hash_mismatch' });
  });

  it('starts from a pruning anchor, and catches rows missing right after it', () => {
    const rows = chain(6);
    expect(verify(rows.slice(3), { seq: 3, hash: rows[2]!.hash }).firstBroken).toBeUndefined();
    expect(verify(rows.slice(4), { seq: 3, hash: rows[2]!.hash }).firstBroken).toEqual({
      seq: 5,
      reason: 'missing_rows',
      expected_seq: 4,
    });
    expect(verify(rows.slice(3)).firstBroken).toMatchObject({ seq: 4, reason: 'missing_rows' });
  });
});
