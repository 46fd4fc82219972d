// What the configuration says about the processing: which kinds of data each model kind handles, which
// operator runs which upstreams where, and whether sending data there is a transfer under Chapter V GDPR.
// Pure functions of the configuration; every list comes out sorted, so reports are stable.
import { MODEL_KINDS, type HunzeConfigFile, type ModelKind, type PartyConfig } from '../config/config.schema';
import { normaliseCountry, regionData } from '../core/regions';
import { adequacyList } from './report-data';

export const KIND_PROCESSING: Record<ModelKind, { processing: string; data: string }> = {
  chat: {
    processing: 'Text generation (chat and text completions)',
    data: 'Text prompts and completions',
  },
  embedding: {
    processing: 'Text embedding',
    data: 'Texts submitted for embedding and the resulting vectors',
  },
  image: { processing: 'Image generation', data: 'Image prompts and generated images' },
  audio: { processing: 'Audio transcription', data: 'Audio recordings and their transcripts' },
};

export const METADATA_CATEGORY =
  'Request metadata: time, account, key id, model, upstream, status, token counts and durations (no content)';

export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const distinctSorted = (values: Iterable<string>): string[] => [...new Set(values)].sort(byText);

/** The model kinds the configuration serves, in catalogue order. */
export function configuredKinds(file: HunzeConfigFile): ModelKind[] {
  return MODEL_KINDS.filter((kind) => file.models.some((m) => m.kind === kind));
}

export function modelsOfKind(file: HunzeConfigFile, kind: ModelKind): string[] {
  return distinctSorted(file.models.filter((m) => m.kind === kind).map((m) => m.id));
}

export type TransferKind = 'eea' | 'adequacy' | 'third_country';

export interface TransferAssessment {
  country: string;
  kind: TransferKind;
  text: string;
}

const EEA = new Set(regionData.regions.EEA ?? []);

export function isEea(country: string): boolean {
  return EEA.has(normaliseCountry(country));
}

export function assessCountry(code: string): TransferAssessment {
  const country = normaliseCountry(code);
  if (EEA.has(country))
    return { country, kind: 'eea', text: `${country}: none needed (inside the EEA, no transfer)` };
  const adequate = adequacyList.countries.find((c) => c.code === country);
  if (adequate) {
    const scope = adequate.scope ? `; the decision covers ${adequate.scope}` : '';
    return {
      country,
      kind: 'adequacy',
      text:
        `${country}: FLAGGED, transfer to a third country with an adequacy decision ` +
        `(${adequate.decision}, Art. 45 GDPR${scope}); confirm the recipient is covered`,
    };
  }
  return {
    country,
    kind: 'third_country',
    text:
      `${country}: FLAGGED, transfer to a third country without an adequacy decision; requires standard ` +
      `contractual clauses (Decision (EU) 2021/914, Module Three) and a transfer impact assessment`,
  };
}

export interface OperatorGroup {
  name: string;
  /** Distinct values as configured, sorted; empty when none is configured. */
  addresses: string[];
  contacts: string[];
  country: string | undefined;
  /** The operator is the processor itself (appliance.operator): not a sub-processor. */
  isProcessor: boolean;
  upstreams: string[];
  /** "site, city, country" per distinct location. */
  sites: string[];
  countries: string[];
  models: string[];
  dataCategories: string[];
  transfers: TransferAssessment[];
}

const partyKey = (p: Pick<PartyConfig, 'name' | 'country'>): string =>
  `${p.name.trim().toLowerCase()}\u0000${p.country ? normaliseCountry(p.country) : ''}`;

export function formatSite(location: { site?: string; city?: string; country: string }): string {
  return [location.site, location.city, normaliseCountry(location.country)].filter(Boolean).join(', ');
}

/**
 * One group per distinct upstream operator (name, case-insensitive, and country). An upstream run by the
 * appliance's own operator belongs to the processor: it is listed, but not as a sub-processor.
 */
export function groupOperators(file: HunzeConfigFile): OperatorGroup[] {
  const processorKey = partyKey(file.appliance.operator);
  const groups = new Map<string, { party: PartyConfig; upstreams: HunzeConfigFile['upstreams'] }>();
  for (const upstream of [...file.upstreams].sort((a, b) => byText(a.id, b.id))) {
    const key = partyKey(upstream.operator);
    const group = groups.get(key) ?? { party: upstream.operator, upstreams: [] };
    group.upstreams.push(upstream);
    groups.set(key, group);
  }
  return [...groups.entries()]
    .map(([key, { party, upstreams }]) => {
      const ids = new Set(upstreams.map((u) => u.id));
      const models = file.models.filter((m) => m.upstreams.some((u) => ids.has(u)));
      const countries = distinctSorted(upstreams.map((u) => normaliseCountry(u.location.country)));
      // The processor's own entry may also take its address and contact from appliance.operator.
      const parties = [
        ...upstreams.map((u) => u.operator),
        ...(key === processorKey ? [file.appliance.operator] : []),
      ];
      return {
        name: party.name,
        addresses: distinctSorted(parties.flatMap((p) => (p.address ? [p.address] : []))),
        contacts: distinctSorted(parties.flatMap((p) => (p.contact ? [p.contact] : []))),
        country: party.country ? normaliseCountry(party.country) : undefined,
        isProcessor: key === processorKey,
        upstreams: [...ids],
        sites: distinctSorted(upstreams.map((u) => formatSite(u.location))),
        countries,
        models: distinctSorted(models.map((m) => m.id)),
        dataCategories: MODEL_KINDS.filter((k) => models.some((m) => m.kind === k)).map(
          (k) => KIND_PROCESSING[k].data,
        ),
        transfers: countries.map(assessCountry),
      };
    })
    .sort(
      (a, b) =>
        Number(a.isProcessor) - Number(b.isProcessor) ||
        byText(a.name.toLowerCase(), b.name.toLowerCase()) ||
        byText(a.country ?? '', b.country ?? ''),
    );
}

/** Transfer text for an operator: its locations, plus a flag when it is established outside the EEA. */
export function transferSummary(group: OperatorGroup): string[] {
  const lines = group.transfers.map((t) => t.text);
  if (group.country && !isEea(group.country))
    lines.push(
      `The operator is established in ${group.country}, outside the EEA: access from there to the data ` +
        `(for example remote administration) would be a transfer to be assessed`,
    );
  return lines;
}
