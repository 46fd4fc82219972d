import { checkAddresses } from '../../residency/residency-guard';
import { mediaAllowances, mediaPolicy } from './media-policy';

const EU = new Set(['NL', 'DE', 'FR']);
const geo = (address: string) => ({ '203.0.113.5': 'NL', '198.51.100.7': 'US' })[address] ?? null;
const verdict = (host: string, allowedHosts: string[], addresses: string[]) =>
  checkAddresses(mediaPolicy(host, mediaAllowances(allowedHosts), EU), addresses, geo);

describe('mediaPolicy', () => {
  it('lets a public address through only when it geolocates to an allowed country', () => {
    expect(verdict('cdn.example', [], ['203.0.113.5'])).toMatchObject({ allowed: true });
    expect(verdict('cdn.example', [], ['198.51.100.7'])).toMatchObject({ reason: 'country_mismatch' });
    expect(verdict('cdn.example', [], ['192.0.2.1'])).toMatchObject({ reason: 'country_unknown' });
    // Listing a public range does not excuse it from the country check.
    expect(verdict('cdn.example', ['198.51.100.0/24'], ['198.51.100.7'])).toMatchObject({
      reason: 'country_mismatch',
    });
  });

  it('refuses private and loopback addresses unless listed by CIDR, IP or host name', () => {
    expect(verdict('127.0.0.1', [], ['127.0.0.1'])).toMatchObject({ reason: 'outside_networks' });
    expect(verdict('10.0.0.8', [], ['10.0.0.8'])).toMatchObject({ reason: 'outside_networks' });
    expect(verdict('127.0.0.1', ['127.0.0.1/32'], ['127.0.0.1'])).toMatchObject({ allowed: true });
    expect(verdict('127.0.0.1', ['127.0.0.1'], ['127.0.0.1'])).toMatchObject({ allowed: true });
    expect(verdict('127.0.0.2', ['127.0.0.1'], ['127.0.0.2'])).toMatchObject({ reason: 'outside_networks' });
    expect(verdict('::1', ['::1'], ['::1'])).toMatchObject({ allowed: true });
    expect(verdict('media.internal', ['Media.Internal.'], ['10.9.8.7', 'fd00::1'])).toMatchObject({
      allowed: true,
    });
    expect(verdict('other.internal', ['media.internal'], ['10.9.8.7'])).toMatchObject({
      reason: 'outside_networks',
    });
  });

  it('refuses them all when one address fails (a name that also resolves abroad)', () => {
    expect(verdict('media.internal', ['media.internal'], ['10.9.8.7', '198.51.100.7'])).toMatchObject({
      reason: 'country_mismatch',
    });
    expect(verdict('cdn.example', [], ['203.0.113.5', '10.0.0.1'])).toMatchObject({
      reason: 'outside_networks',
    });
  });

  it('never allows an unroutable address', () => {
    expect(verdict('x', ['0.0.0.0/0'], ['0.0.0.0'])).toMatchObject({ reason: 'unroutable_address' });
  });
});
