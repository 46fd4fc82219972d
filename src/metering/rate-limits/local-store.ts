// This replica's counters, in memory. The only store without Redis; with Redis it keeps counting alongside
// (and takes in the shared state Redis reports), so a switch to it when Redis fails starts warm.
import {
  advanceClock,
  admit,
  monthOf,
  monthStart,
  nextMonthStart,
  type Admission,
  type Scope,
  type Subject,
  type SubjectState,
} from './limit-rules';
import { subjectKey } from './limit-plan';

interface LocalState {
  requestTat: number;
  tokenTat: number;
  month: string;
  monthUsed: number;
}

/** Whose tokens a finished request adds to, and the token rate of each (null: no tokens-per-minute limit). */
export interface TokenOwner {
  scope: Scope;
  id: string;
  tpm: number | null;
}

export class LocalLimitStore {
  /** One entry per key and account that made a request: bounded by the number of keys. */
  private readonly states = new Map<string, LocalState>();
  private monthKey = '';
  private monthStarts = 0;
  private monthEnds = 0;

  /** Decides and, when admitted, counts the request. */
  admit(subjects: readonly Subject[], now: number): Admission {
    const states = subjects.map((s) => this.read(s.scope, s.id, now));
    const admission = admit(subjects, states, now);
    if (!admission.refusal) {
      subjects.forEach((s, i) => (this.read(s.scope, s.id, now).requestTat = admission.next[i]!.requestTat));
    }
    return admission;
  }

  /** Takes in the shared state another backend reported (by maximum: nothing counted here is lost). */
  observe(subjects: readonly Subject[], states: readonly SubjectState[], now: number): void {
    subjects.forEach((s, i) => {
      const theirs = states[i];
      if (!theirs) return;
      const mine = this.read(s.scope, s.id, now);
      mine.requestTat = Math.max(mine.requestTat, theirs.requestTat);
      mine.tokenTat = Math.max(mine.tokenTat, theirs.tokenTat);
      mine.monthUsed = Math.max(mine.monthUsed, theirs.monthUsed);
    });
  }

  addTokens(owners: readonly TokenOwner[], tokens: number, now: number): void {
    for (const owner of owners) {
      const state = this.read(owner.scope, owner.id, now);
      state.monthUsed += tokens;
      if (owner.tpm !== null) state.tokenTat = advanceClock(state.tokenTat, owner.tpm, tokens, now);
    }
  }

  /** Raises a month counter to `used` (seeding from usage_records at boot). */
  seedMonth(scope: Scope, id: string, used: number, now: number): void {
    const state = this.read(scope, id, now);
    state.monthUsed = Math.max(state.monthUsed, used);
  }

  monthUsed(scope: Scope, id: string, now: number): number {
    return this.read(scope, id, now).monthUsed;
  }

  private read(scope: Scope, id: string, now: number): LocalState {
    const month = this.currentMonth(now);
    const key = subjectKey(scope, id);
    let state = this.states.get(key);
    if (!state) {
      state = { requestTat: 0, tokenTat: 0, month, monthUsed: 0 };
      this.states.set(key, state);
    } else if (state.month !== month) {
      state.month = month;
      state.monthUsed = 0;
    }
    return state;
  }

  private currentMonth(now: number): string {
    if (now >= this.monthEnds || now < this.monthStarts) {
      this.monthKey = monthOf(now);
      this.monthStarts = monthStart(now);
      this.monthEnds = nextMonthStart(now);
    }
    return this.monthKey;
  }
}
