/** The roles an API key can have; the `role` column of `api_keys` holds one of them. */
export const ROLES = ['user', 'admin', 'dpo'] as const;
export type Role = (typeof ROLES)[number];
