// Which counters a caller is held to: its key's and its account's. A key with no limits of its own and an
// account without limits has no plan, and skips rate limiting entirely.
import type { Principal } from '../../core/principal';
import type { Subject } from './limit-rules';

export function isLimited(p: Principal): boolean {
  return (
    p.rpm !== null ||
    p.tpm !== null ||
    p.monthlyTokens !== null ||
    p.accountRpm !== null ||
    p.accountTpm !== null ||
    p.accountMonthlyTokens !== null
  );
}

/**
 * The key first, then its account. Both are listed even when only one has limits, so the monthly counters of
 * both keep counting while either is limited.
 */
export function subjectsOf(p: Principal): Subject[] {
  const subjects: Subject[] = [
    { scope: 'key', id: p.keyId, limits: { rpm: p.rpm, tpm: p.tpm, monthlyTokens: p.monthlyTokens } },
  ];
  if (p.accountName !== null) {
    subjects.push({
      scope: 'account',
      id: p.accountName,
      limits: { rpm: p.accountRpm, tpm: p.accountTpm, monthlyTokens: p.accountMonthlyTokens },
    });
  }
  return subjects;
}

/** The local store's (and the metrics') name for a subject. */
export const subjectKey = (scope: Subject['scope'], id: string) => `${scope}:${id}`;
