// What one measure's check found: shared by measures.ts and measures-outbound.ts.

export type MeasureStatus =
  'in_force' | 'partial' | 'not_in_force' | 'not_configured' | 'not_verifiable' | 'by_design';

export interface MeasureCheck {
  status: MeasureStatus;
  evidence: string[];
}
