// The multipart fields of POST /v1/audio/transcriptions and /v1/audio/diarize, checked one by one as they
// arrive (the body is streamed, so there is no whole object to validate). A bad field is a 400 naming the
// field; values and unknown field names are never quoted. Unknown fields are dropped, not forwarded.
import { ApiError } from '../../core/errors';

export const AUDIO_EXTENSIONS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'ogg', 'wav', 'webm'] as const;
export const TRANSCRIPTION_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
export type TranscriptionFormat = (typeof TRANSCRIPTION_FORMATS)[number];
export type AudioTask = 'transcribe' | 'diarize';
export type Granularity = 'word' | 'segment';

const MAX_MODEL_CHARS = 256;
const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, '1': true, false: false, '0': false };

const invalid = (param: string, reason: string) =>
  new ApiError('invalid_request_error', { param, reason }, param);

/** One field of the upstream form: name and value. */
export type FormField = readonly [string, string];

export class TranscriptionForm {
  model?: string;
  responseFormat: TranscriptionFormat;
  readonly granularities = new Set<Granularity>();
  /** The upload's extension (lower case), once the file part arrived. */
  extension?: string;
  private diarize?: boolean;
  private align?: boolean;
  private readonly seen = new Set<string>();
  private formatGiven = false;

  constructor(readonly task: AudioTask) {
    this.responseFormat = task === 'diarize' ? 'diarized_json' : 'json';
  }

  /** Checks a text field; returns what to forward to the backend (null: consumed here or unknown). */
  field(name: string, value: unknown, truncated: boolean): FormField | null {
    if (!KNOWN.has(name)) return null;
    if (typeof value !== 'string') throw invalid(name, 'must be a string');
    if (truncated) throw invalid(name, 'is too long');
    const repeatable = name === 'timestamp_granularities[]' || name === 'timestamp_granularities';
    if (!repeatable && this.seen.has(name)) throw invalid(name, 'must be sent once');
    this.seen.add(name);
    switch (name) {
      case 'model':
        if (value.length === 0 || value.length > MAX_MODEL_CHARS) throw invalid(name, 'is invalid');
        this.model = value;
        return null;
      case 'response_format':
        if (!(TRANSCRIPTION_FORMATS as readonly string[]).includes(value))
          throw invalid(name, 'is not one of the accepted values');
        this.responseFormat = value as TranscriptionFormat;
        this.formatGiven = true;
        return null;
      case 'language':
        if (!/^[a-z]{2}$/.test(value)) throw invalid(name, 'must be an ISO-639-1 code such as "en"');
        return [name, value];
      case 'temperature':
        return [name, String(number(name, value, 0, 1, false))];
      case 'timestamp_granularities':
      case 'timestamp_granularities[]':
        if (value !== 'word' && value !== 'segment') throw invalid(name, 'must be "word" or "segment"');
        this.granularities.add(value);
        return ['timestamp_granularities[]', value];
      case 'stream':
        if (bool(name, value)) throw invalid(name, 'streaming transcriptions are not supported');
        return null;
      case 'diarize':
        this.diarize = bool(name, value);
        return null;
      case 'align':
        this.align = bool(name, value);
        return null;
      case 'suppress_numerals':
        return [name, String(bool(name, value))];
      case 'min_speakers':
      case 'max_speakers':
        return [name, String(number(name, value, 1, 64, true))];
      default: // prompt, hotwords: free text for the backend
        return [name, value];
    }
  }

  /** Checks the upload's file name: its extension must be an audio type the backend decodes. */
  file(filename: string | undefined): void {
    const match = /\.([A-Za-z0-9]{1,8})$/.exec(filename ?? '');
    const extension = match?.[1]?.toLowerCase();
    if (!extension || !(AUDIO_EXTENSIONS as readonly string[]).includes(extension)) {
      throw invalid(
        'file',
        `must be an audio file with one of the extensions ${AUDIO_EXTENSIONS.join(', ')}`,
      );
    }
    this.extension = extension;
  }

  /** Once the whole form has arrived: both required parts are there. */
  requireComplete(): void {
    if (!this.extension) throw invalid('file', 'is required');
    if (this.model === undefined) throw invalid('model', 'is required');
  }

  /** Whether the backend should diarize (and so align). */
  get diarized(): boolean {
    if (this.task === 'diarize') return true;
    return this.diarize ?? (this.formatGiven && this.responseFormat === 'diarized_json');
  }

  /**
   * The fields the gateway itself sends, after the client's: the canonical model, always WhisperX's raw
   * result (the gateway renders the client's format from it), and alignment/diarization.
   */
  backendFields(modelId: string): FormField[] {
    const fields: FormField[] = [
      ['model', modelId],
      ['response_format', 'verbose_json'],
    ];
    if (this.diarized) {
      if (this.task === 'transcribe' && this.align === false)
        throw invalid('align', 'must be true to diarize');
      fields.push(['align', 'true'], ['diarize', 'true']);
    } else if (this.align !== undefined) {
      fields.push(['align', String(this.align)]);
    }
    return fields;
  }
}

const KNOWN = new Set([
  'model',
  'response_format',
  'language',
  'prompt',
  'temperature',
  'timestamp_granularities',
  'timestamp_granularities[]',
  'stream',
  'diarize',
  'align',
  'hotwords',
  'suppress_numerals',
  'min_speakers',
  'max_speakers',
]);

function bool(name: string, value: string): boolean {
  const parsed = BOOLEANS[value.toLowerCase()];
  if (parsed === undefined) throw invalid(name, 'must be a boolean');
  return parsed;
}

function number(name: string, value: string, min: number, max: number, integer: boolean): number {
  const parsed = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(parsed) || (integer && !Number.isInteger(parsed)))
    throw invalid(name, integer ? 'must be an integer' : 'must be a number');
  if (parsed < min || parsed > max) throw invalid(name, `must be between ${min} and ${max}`);
  return parsed;
}
