import { SetMetadata } from '@nestjs/common';
import type { Role } from './roles';

export const ROLES_KEY = 'hunze:roles';
export const PUBLIC_KEY = 'hunze:public';
export const KEY_SOURCES_KEY = 'hunze:key-sources';

/** Roles that may call this controller or handler. A route with neither @Roles nor @Public is refused. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** No key needed (health probes, metrics). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Where a key may be presented besides `Authorization: Bearer` (the Gemini API uses these). */
export type KeySource = 'x-goog-api-key' | 'query-key';
export const AlsoAcceptKeyFrom = (...sources: KeySource[]) => SetMetadata(KEY_SOURCES_KEY, sources);
