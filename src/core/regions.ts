// Country sets for residency, read from compliance/regions.json (data with its source and date, not code).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface RegionData {
  source: string;
  date: string;
  regions: Record<string, string[]>;
  aliases: Record<string, string>;
}

// Same relative path from src/core (ts-jest) and dist/core (built).
const REGIONS_FILE = join(__dirname, '..', '..', 'compliance', 'regions.json');
export const regionData: RegionData = JSON.parse(readFileSync(REGIONS_FILE, 'utf8')) as RegionData;

/** Maps EU-style aliases (EL, UK) to ISO 3166-1 codes. */
export function normaliseCountry(code: string): string {
  const upper = code.toUpperCase();
  return regionData.aliases[upper] ?? upper;
}

export function isKnownRegion(entry: string): boolean {
  return entry.toUpperCase() in regionData.regions || /^[A-Z]{2}$/i.test(entry);
}

/** Expands `allowedRegions` (EU, EEA, or country codes) into a set of ISO codes. */
export function expandRegions(allowed: readonly string[]): Set<string> {
  const countries = new Set<string>();
  for (const entry of allowed) {
    const named = regionData.regions[entry.toUpperCase()];
    if (named) named.forEach((c) => countries.add(c));
    else countries.add(normaliseCountry(entry));
  }
  return countries;
}
