// The admin API's answers as the console reads them (docs/api.md).

export type Role = 'user' | 'admin' | 'dpo';

export interface KeyRecord {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  account: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

export interface CreatedKey extends KeyRecord {
  key: string;
}

export interface Account {
  name: string;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
  active_keys: number;
  created_at: string;
}

export type GroupBy = 'day' | 'model' | 'account' | 'key';

export interface UsageRow {
  group: string | null;
  key_name?: string | null;
  key_prefix?: string | null;
  account?: string | null;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  audio_seconds: number;
}

export interface UsageAnswer {
  from: string;
  to: string;
  group_by: GroupBy;
  data: UsageRow[];
}

export interface AuditEvent {
  seq: number;
  occurred_at: string;
  actor: string;
  action: string;
  target: string | null;
  details: unknown;
}

export interface AuditVerify {
  valid: boolean;
  checked: number;
  anchor_seq: number;
  firstBroken?: { seq: number; reason: string; expected_seq?: number };
}

export interface UpstreamStatus {
  id: string;
  models: string[];
  kinds: string[];
  location: { country: string; city: string | null; site: string | null };
  operator: { name: string; country: string | null; address: string | null };
  networks: string[];
  hardware: string | null;
  available: boolean;
  circuit: string;
  health: { healthy: boolean; checked_at: string | null };
  residency: {
    status: 'passed' | 'refused' | 'unchecked';
    checked_at: string | null;
    address: string | null;
    reason: string | null;
  };
}

/** The parts of GET /admin/v1/config the console shows. */
export interface ConfigAnswer {
  fingerprint: string;
  sourcePath: string;
  config: {
    appliance?: { name?: string; operator?: { name?: string } };
    residency?: { allowedRegions?: string[] };
    models?: { id: string; kind?: string; aliases?: string[] }[];
  };
}

export interface List<T> {
  data: T[];
  has_more?: boolean;
}
