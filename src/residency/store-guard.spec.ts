import { passedChecks, type PassedCheck } from './passed-checks';
import { ResidencyViolationError, residencyEvents, type ResidencyViolation } from './residency-connector';
import { loopbackGuard, storeGuard, StoreGuard, type StoreGuardHooks } from './store-guard';

const file = (
  store: { networks?: string[]; country?: string } = {},
  operatorCountry: string | undefined = 'NL',
) => ({
  appliance: { name: 'Test', operator: { name: 'Op', country: operatorCountry } },
  database: { networks: store.networks ?? [], country: store.country },
  redis: { networks: [], country: undefined, url: null, rateLimitSyncMs: 20, commandTimeoutMs: 100 },
});

/** A resolver that answers from a table and counts its calls. */
function resolver(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve: NonNullable<StoreGuardHooks['resolve']> = (host) => {
    calls.push(host);
    const list = table[host];
    if (!list) return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    return Promise.resolve(list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return { resolve, calls };
}

describe('store guard', () => {
  const violations: ResidencyViolation[] = [];
  const passes: PassedCheck[] = [];
  const unsubscribe: (() => void)[] = [];
  beforeAll(() => {
    unsubscribe.push(residencyEvents.subscribe((v) => violations.push(v)));
    unsubscribe.push(passedChecks.subscribe((p) => passes.push(p)));
  });
  afterAll(() => unsubscribe.forEach((stop) => stop()));
  beforeEach(() => {
    violations.length = 0;
    passes.length = 0;
  });

  it('without declared networks allows loopback only (IPv4 and IPv6)', async () => {
    const guard = storeGuard(file(), 'database');
    expect(guard.policy.networks).toEqual(['127.0.0.0/8', '::1/128']);
    await expect(guard.check('127.0.0.1')).resolves.toMatchObject({ allowed: true, address: '127.0.0.1' });
    await expect(guard.check('[::1]')).resolves.toMatchObject({ allowed: true, address: '::1' });
    await expect(guard.check('10.20.1.5')).resolves.toMatchObject({
      allowed: false,
      reason: 'outside_networks',
      address: '10.20.1.5',
    });
  });

  it('with declared networks every address must lie inside, loopback included', async () => {
    const guard = storeGuard(file({ networks: ['10.20.1.0/24'] }), 'database');
    await expect(guard.check('10.20.1.5')).resolves.toMatchObject({ allowed: true });
    await expect(guard.check('127.0.0.1')).resolves.toMatchObject({
      allowed: false,
      reason: 'outside_networks',
    });
  });

  it('checks every resolved address: one outside refuses them all', async () => {
    const { resolve } = resolver({ 'db.example': ['10.20.1.5', '10.99.0.1'] });
    const guard = storeGuard(file({ networks: ['10.20.1.0/24'] }), 'database', { resolve });
    await expect(guard.check('db.example')).resolves.toMatchObject({
      allowed: false,
      reason: 'outside_networks',
      address: '10.99.0.1',
    });
  });

  it('a public address must geolocate to the declared country, else the operator country', async () => {
    const geo = (address: string) => (address === '203.0.113.7' ? 'DE' : null);
    const declared = storeGuard(file({ networks: ['203.0.113.0/24'], country: 'DE' }), 'database', { geo });
    await expect(declared.check('203.0.113.7')).resolves.toMatchObject({ allowed: true });
    const operators = storeGuard(file({ networks: ['203.0.113.0/24'] }), 'database', { geo });
    await expect(operators.check('203.0.113.7')).resolves.toMatchObject({
      allowed: false,
      reason: 'country_mismatch',
    });
    await expect(declared.check('203.0.113.8')).resolves.toMatchObject({ reason: 'country_unknown' });
  });

  it('pin resolves once, returns the checked address and announces the pass', async () => {
    const { resolve, calls } = resolver({ 'db.internal': ['127.0.0.3'] });
    const guard = loopbackGuard('redis', { resolve });
    await expect(guard.pin('db.internal', 6380)).resolves.toBe('127.0.0.3');
    expect(calls).toEqual(['db.internal']);
    expect(passes).toEqual([{ destination: 'redis', address: '127.0.0.3', port: 6380 }]);
    expect(violations).toEqual([]);
  });

  it('pin refuses: logs and publishes the metadata, throws ResidencyViolationError, announces no pass', async () => {
    const warnings: [string, unknown][] = [];
    const log = { warn: (evt: string, fields?: unknown) => void warnings.push([evt, fields]) };
    const guard = new StoreGuard('database', { networks: ['127.0.0.2/32'], country: 'NL' }, { log });
    const refusal = guard.pin('127.0.0.1', 5432);
    await expect(refusal).rejects.toBeInstanceOf(ResidencyViolationError);
    await expect(refusal).rejects.toMatchObject({ upstream: 'database', reason: 'outside_networks' });
    const expected = { upstream: 'database', reason: 'outside_networks', family: 4, address: '127.0.0.1' };
    expect(violations).toEqual([expected]);
    expect(warnings).toEqual([['residency_violation', expected]]);
    expect(passes).toEqual([]);
  });

  it('a failed lookup is thrown as it is and is no residency refusal', async () => {
    const { resolve } = resolver({});
    const guard = loopbackGuard('database', { resolve });
    await expect(guard.pin('nowhere.invalid', 5432)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(violations).toEqual([]);
  });
});
