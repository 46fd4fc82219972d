// Fake WhisperX server in the style of Nyralei/whisperx-api-server (FastAPI): OpenAI-like multipart
// `POST /v1/audio/transcriptions` plus `align` / `diarize` / `min_speakers` / `max_speakers`.
// Answers the raw WhisperX transcript, not OpenAI's shapes: `json` is `{"text"}`, `verbose_json` and
// `diarized_json` are `{"segments","language","text"}`, and with align+diarize `segments` is NESTED
// (`{"segments":[...],"word_segments":[...]}`), which the gateway has to flatten.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { FakeServerBase, type FakeServerOptions } from './fake-server-base';

export type FakeWhisperxOptions = FakeServerOptions;
export type FakeWhisperxMode = 'error';

export interface UploadedFileSummary {
  filename: string;
  contentType: string | null;
  size: number;
  sha256: string;
}

/** What `requests[].body` holds for a transcription: form fields plus a summary of the upload. */
export interface TranscriptionRecord {
  /** Single values as strings; fields named `x[]` always as arrays. */
  fields: Record<string, string | string[]>;
  file: UploadedFileSummary | null;
}

export interface WhisperxWord {
  word: string;
  start: number;
  end: number;
  score: number;
  speaker?: string;
}

export interface WhisperxSegment {
  start: number;
  end: number;
  text: string;
  words?: WhisperxWord[];
  speaker?: string;
}

/** `segments` after align+diarize: WhisperX's alignment result object, not a list. */
export interface WhisperxNestedSegments {
  segments: WhisperxSegment[];
  word_segments: WhisperxWord[];
}

/** `verbose_json` / `diarized_json` body: the raw WhisperX result. */
export interface WhisperxTranscript<S = WhisperxSegment[] | WhisperxNestedSegments> {
  segments: S;
  language: string;
  text: string;
}

const RESPONSE_FORMATS = new Set(['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json']);

/** The fixed conversation every request "transcribes" (note Whisper's leading spaces). */
export const FAKE_SEGMENTS: readonly WhisperxSegment[] = [
  { start: 0.031, end: 2.512, text: ' Hello, thanks for calling Hunze support.', speaker: 'SPEAKER_00' },
  { start: 2.912, end: 5.204, text: ' Hi, I have a question about my invoice.', speaker: 'SPEAKER_01' },
  { start: 5.6, end: 7.85, text: ' Sure, let me pull that up for you.', speaker: 'SPEAKER_00' },
].map((segment) => ({
  ...segment,
  words: spreadWords(segment.text, segment.start, segment.end, segment.speaker),
}));

export class FakeWhisperx extends FakeServerBase<FakeWhisperxMode> {
  private constructor(options: FakeWhisperxOptions) {
    super(options);
  }

  static async start(options: FakeWhisperxOptions = {}): Promise<FakeWhisperx> {
    const fake = new FakeWhisperx(options);
    await fake.listen();
    return fake;
  }

  protected override isHealthPath(path: string): boolean {
    return path === '/health' || path === '/healthcheck'; // the real server calls it /healthcheck
  }

  protected override answerHealth(res: http.ServerResponse): void {
    this.sendJson(res, this.healthy ? 200 : 503, { status: this.healthy ? 'healthy' : 'unhealthy' });
  }

  protected override describeBody(raw: Buffer, contentType: string | undefined): unknown {
    const parsed = parseMultipart(raw, contentType);
    return parsed ? summarise(parsed) : super.describeBody(raw, contentType);
  }

  protected route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, path: string): void {
    if (req.method !== 'POST' || path !== '/v1/audio/transcriptions') {
      return this.sendJson(res, 404, { detail: 'Not Found' });
    }
    const parts = parseMultipart(raw, req.headers['content-type']);
    const record = parts ? summarise(parts) : null;
    if (!record?.file) return this.sendJson(res, 400, { detail: 'Missing required form field: file' });

    const field = (name: string): string | undefined => {
      const value = record.fields[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const format = field('response_format') ?? 'json';
    if (!RESPONSE_FORMATS.has(format)) {
      return this.sendJson(res, 400, { detail: `Invalid response_format: ${format}` });
    }
    const align = parseBool(field('align'), true);
    const diarize = parseBool(field('diarize'), false);
    if (align === null || diarize === null) {
      return this.sendJson(res, 400, { detail: 'align/diarize must be booleans' });
    }

    if (this.mode === 'error') return this.sendJson(res, 500, { detail: 'CUDA out of memory' });
    // Same preconditions (and the same odd 500 status) as the real server
    if (!align && diarize) {
      return this.sendJson(res, 500, { detail: 'Diarization requires alignment to be enabled.' });
    }
    if (!align && (format === 'srt' || format === 'vtt')) {
      return this.sendJson(res, 500, {
        detail: "Subtitles format ('vtt', 'srt', 'aud', 'vtt_json') requires alignment to be enabled.",
      });
    }

    const segments = buildSegments(align, diarize);
    const text = segments.map((s) => s.text.trim()).join('\n');
    const language = field('language') ?? 'en';
    switch (format) {
      case 'json':
        return this.sendJson(res, 200, { text });
      case 'text':
        return this.send(res, 200, text, { 'content-type': 'text/plain; charset=utf-8' });
      case 'srt':
        return this.send(res, 200, toSrt(segments), { 'content-type': 'text/plain; charset=utf-8' });
      case 'vtt':
        return this.send(res, 200, toVtt(segments), { 'content-type': 'text/vtt; charset=utf-8' });
      default: {
        // verbose_json / diarized_json: the WhisperX result as-is, nested after alignment+diarization
        const nested: WhisperxNestedSegments = {
          segments,
          word_segments: segments.flatMap((s) => s.words ?? []),
        };
        const body: WhisperxTranscript = { segments: align && diarize ? nested : segments, language, text };
        return this.sendJson(res, 200, body);
      }
    }
  }
}

/** Raw Whisper output has no words; alignment adds them; diarization adds speakers. */
function buildSegments(align: boolean, diarize: boolean): WhisperxSegment[] {
  return FAKE_SEGMENTS.map(({ start, end, text, words = [], speaker }) => {
    const segment: WhisperxSegment = { start, end, text };
    if (align) {
      segment.words = words.map(({ speaker: who, ...word }) =>
        diarize && who ? { ...word, speaker: who } : word,
      );
    }
    if (diarize && speaker) segment.speaker = speaker;
    return segment;
  });
}

function spreadWords(text: string, start: number, end: number, speaker: string | undefined): WhisperxWord[] {
  const words = text.trim().split(/\s+/);
  const step = (end - start) / words.length;
  return words.map((word, i) => ({
    word,
    start: round3(start + i * step),
    end: round3(start + (i + 1) * step - 0.02),
    score: round3(0.9 + ((i * 7) % 10) / 100),
    ...(speaker ? { speaker } : {}),
  }));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Pydantic's form-boolean parsing; null = invalid. */
function parseBool(value: string | undefined, fallback: boolean): boolean | null {
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(v)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(v)) return false;
  return null;
}

// Whisper's format_timestamp: SRT always has hours and a comma; WhisperX's VTT omits zero hours.
function timestamp(seconds: number, alwaysHours: boolean, marker: string): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${alwaysHours || h > 0 ? `${pad(h)}:` : ''}${pad(m)}:${pad(s)}${marker}${pad(ms % 1000, 3)}`;
}

function cueText(segment: WhisperxSegment): string {
  const text = segment.text.trim().replace(/-->/g, '->');
  return segment.speaker ? `[${segment.speaker}]: ${text}` : text;
}

function toSrt(segments: WhisperxSegment[]): string {
  return segments
    .map(
      (s, i) =>
        `${i + 1}\n${timestamp(s.start, true, ',')} --> ${timestamp(s.end, true, ',')}\n${cueText(s)}\n\n`,
    )
    .join('');
}

function toVtt(segments: WhisperxSegment[]): string {
  const cues = segments.map(
    (s) => `${timestamp(s.start, false, '.')} --> ${timestamp(s.end, false, '.')}\n${cueText(s)}\n\n`,
  );
  return `WEBVTT\n\n${cues.join('')}`;
}

interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/** Minimal multipart/form-data parser over the fully collected body; null when not multipart. */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartPart[] | null {
  const match = /^multipart\/form-data\b.*?;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) return null;
  const opening = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(opening);
  while (pos !== -1) {
    const afterDelimiter = pos + opening.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break; // closing delimiter
    const start = afterDelimiter + 2; // skip CRLF
    const next = body.indexOf(separator, start);
    if (next === -1) break; // truncated body: keep what we have
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(disposition)?.[1] ?? null;
      const type = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? null;
      if (name !== undefined) {
        parts.push({ name, filename, contentType: type, data: part.subarray(headerEnd + 4) });
      }
    }
    pos = next + 2; // points at the next `--boundary`
  }
  return parts;
}

function summarise(parts: MultipartPart[]): TranscriptionRecord {
  const record: TranscriptionRecord = { fields: {}, file: null };
  for (const part of parts) {
    if (part.name === 'file' && part.filename !== null) {
      const sha256 = createHash('sha256').update(part.data).digest('hex');
      record.file = {
        filename: part.filename,
        contentType: part.contentType,
        size: part.data.length,
        sha256,
      };
      continue;
    }
    const value = part.data.toString('utf8');
    const existing = record.fields[part.name];
    if (part.name.endsWith('[]')) {
      record.fields[part.name] = [...((existing as string[] | undefined) ?? []), value];
    } else record.fields[part.name] = value;
  }
  return record;
}
