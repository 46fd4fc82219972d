// The data the reports are written from besides the running system: the measures catalogue, the SCC clause
// headings and the adequacy list, each a JSON file in compliance/ with its source and date; and the product
// version from package.json. Read once at load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Same relative path from src/reports (ts-jest) and dist/reports (built). */
const ROOT = join(__dirname, '..', '..');

function readJson<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(ROOT, ...path), 'utf8')) as T;
}

interface Dated {
  source: string;
  date: string;
  note: string;
}

export interface MeasureEntry {
  id: string;
  control: string;
  article: string;
  annex_iii: string;
  title: string;
  measure: string;
  basis: string;
}

export interface SccClause {
  number: string;
  title: string;
  /** The option chosen or the blank to fill in, where the clause offers one. */
  choice?: string;
}

export interface AdequacyEntry {
  code: string;
  name: string;
  decision: string;
  scope: string;
}

export const measuresCatalogue = readJson<Dated & { measures: MeasureEntry[] }>(
  'compliance',
  'measures.json',
);
export const sccClauses = readJson<Dated & { sections: { heading: string; clauses: SccClause[] }[] }>(
  'compliance',
  'scc-clauses.json',
);
export const adequacyList = readJson<Dated & { countries: AdequacyEntry[] }>('compliance', 'adequacy.json');
export const productVersion = readJson<{ version: string }>('package.json').version;
