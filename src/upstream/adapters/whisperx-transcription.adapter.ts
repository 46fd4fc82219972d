// WhisperX server specifics of /v1/audio/*: its raw result (verbose_json, which the gateway always asks for)
// is checked and flattened (after alignment + diarization `segments` is nested as
// {"segments":[...],"word_segments":[...]}), then rendered in the client's OpenAI response_format.
import type { Readable } from 'node:stream';
import { ApiError } from '../../core/errors';
import type { BackendAdapter } from './backend-adapter';

/**
 * The answer formats and timestamp granularities this adapter renders; the gateway's TRANSCRIPTION_FORMATS
 * (src/gateway/audio/transcription-form.ts) must be among them, which tsc checks where it calls.
 */
export type TranscriptionFormat = 'json' | 'text' | 'srt' | 'verbose_json' | 'vtt' | 'diarized_json';
export type Granularity = 'word' | 'segment';

export interface Word {
  word: string;
  start: number;
  end: number;
  speaker?: string;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

export interface Transcript {
  text: string;
  language: string | null;
  /** Seconds of audio: the backend's `duration` when it sends one, else where the last segment ends. */
  duration: number;
  /** True when `duration` came from the backend rather than the segments. */
  durationReported: boolean;
  segments: Segment[];
  words: Word[];
}

export interface Rendered {
  contentType: string;
  body: string;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const str = (v: unknown): v is string => typeof v === 'string';

/** Checks and flattens the backend's answer; anything that is not a transcript is a 502. */
export function readWhisperx(answer: Record<string, unknown>): Transcript {
  const bad = () => new ApiError('upstream_error', { upstreamStatus: 200 });
  const nested = answer.segments;
  const rawSegments: unknown = Array.isArray(nested) ? nested : (nested as { segments?: unknown })?.segments;
  if (!Array.isArray(rawSegments)) throw bad();
  const segments: Segment[] = [];
  const segmentWords: Word[] = [];
  for (const raw of rawSegments as Record<string, unknown>[]) {
    if (!raw || !num(raw.start) || !num(raw.end) || !str(raw.text)) throw bad();
    segments.push({ start: raw.start, end: raw.end, text: raw.text, ...speakerOf(raw) });
    if (Array.isArray(raw.words)) segmentWords.push(...readWords(raw.words));
  }
  const wordSegments = (nested as { word_segments?: unknown } | null)?.word_segments;
  const words = Array.isArray(wordSegments) ? readWords(wordSegments) : segmentWords;
  const reported = num(answer.duration) ? answer.duration : undefined;
  return {
    text: str(answer.text) ? answer.text : segments.map((s) => s.text.trim()).join(' '),
    language: str(answer.language) ? answer.language : null,
    duration: reported ?? segments.reduce((end, s) => Math.max(end, s.end), 0),
    durationReported: reported !== undefined,
    segments,
    words,
  };
}

/** Words without timings (WhisperX cannot align some tokens, e.g. numerals) are left out. */
function readWords(raw: unknown[]): Word[] {
  const words: Word[] = [];
  for (const w of raw as Record<string, unknown>[]) {
    if (w && str(w.word) && num(w.start) && num(w.end))
      words.push({ word: w.word, start: w.start, end: w.end, ...speakerOf(w) });
  }
  return words;
}

function speakerOf(raw: Record<string, unknown>): { speaker?: string } {
  return str(raw.speaker) ? { speaker: raw.speaker } : {};
}

export interface RenderOptions {
  format: TranscriptionFormat;
  granularities: ReadonlySet<Granularity>;
}

const JSON_TYPE = 'application/json';

/** The transcript in OpenAI's shape for `format`. */
export function renderTranscript(t: Transcript, options: RenderOptions): Rendered {
  switch (options.format) {
    case 'json':
      return { contentType: JSON_TYPE, body: JSON.stringify({ text: t.text }) };
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: t.text };
    case 'srt':
      return { contentType: 'text/plain; charset=utf-8', body: toSrt(t.segments) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: toVtt(t.segments) };
    case 'verbose_json':
      return { contentType: JSON_TYPE, body: JSON.stringify(verbose(t, options.granularities)) };
    case 'diarized_json':
      return { contentType: JSON_TYPE, body: JSON.stringify(diarized(t)) };
  }
}

function verbose(t: Transcript, granularities: ReadonlySet<Granularity>): Record<string, unknown> {
  return {
    task: 'transcribe',
    language: t.language ?? 'unknown',
    duration: t.duration,
    text: t.text,
    segments: t.segments.map((s, id) => ({
      id,
      start: s.start,
      end: s.end,
      text: s.text,
      speaker: s.speaker,
    })),
    ...(granularities.has('word') ? { words: t.words } : {}),
  };
}

/** OpenAI's diarized_json; WhisperX's labels (SPEAKER_00, ...) are kept, a segment without one is UNKNOWN. */
function diarized(t: Transcript): Record<string, unknown> {
  return {
    task: 'transcribe',
    duration: t.duration,
    text: t.text,
    segments: t.segments.map((s, i) => ({
      type: 'transcript.text.segment',
      id: `seg_${i}`,
      start: s.start,
      end: s.end,
      text: s.text.trim(),
      speaker: s.speaker ?? 'UNKNOWN',
    })),
  };
}

// Whisper's format_timestamp: hours always, a comma before milliseconds in SRT and a dot in WebVTT.
function timestamp(seconds: number, marker: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}${marker}${pad(ms % 1000, 3)}`;
}

/** A cue's text: one line, no cue-timing arrow, WhisperX's `[SPEAKER_00]: ` prefix when diarized. */
function cueText(s: Segment): string {
  const text = s.text
    .trim()
    .replace(/-->/g, '->')
    .replace(/\s*\n\s*/g, ' ');
  return s.speaker ? `[${s.speaker}]: ${text}` : text;
}

function toSrt(segments: Segment[]): string {
  return segments
    .map((s, i) => `${i + 1}\n${timestamp(s.start, ',')} --> ${timestamp(s.end, ',')}\n${cueText(s)}\n\n`)
    .join('');
}

function toVtt(segments: Segment[]): string {
  const cues = segments.map(
    (s) => `${timestamp(s.start, '.')} --> ${timestamp(s.end, '.')}\n${cueText(s)}\n\n`,
  );
  return `WEBVTT\n\n${cues.join('')}`;
}

/** A multipart upload on its way from the client, re-encoded for the backend as it arrives. */
export interface TranscriptionUpload {
  readonly contentType: string;
  body(modelId: string): Readable;
  /** The whole form has been read. */
  readonly complete: boolean;
}

/** The WhisperX server behind /v1/audio/transcriptions and /v1/audio/diarize; always asked for verbose_json. */
export const WHISPERX_TRANSCRIPTION: BackendAdapter<TranscriptionUpload, Transcript> = {
  path: '/audio/transcriptions',
  request: (upload, model) => ({ body: upload.body(model.id), contentType: upload.contentType }),
  read: (answer, upload) => {
    // The backend answered before it had the whole form: it cannot have transcribed this upload.
    if (!upload.complete) throw new ApiError('upstream_error', { upstreamStatus: 200 });
    return readWhisperx(answer);
  },
};
