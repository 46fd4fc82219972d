// Reads a client's multipart audio upload and re-encodes it for the backend on the fly: no temporary files,
// and the file's bytes flow through as they arrive. Fields are checked one by one as they come.
//
// The backend is chosen by the `model` field, so the upload can stream only once the model is known. When
// the file comes first (openai-node sends `file` before `model`), its bytes are held in memory, never on
// disk, up to server.bodyLimitMb, until the model field arrives; then everything is sent on.
//
// A client mistake found mid-upload (a bad field after the file, a file over the limit) ends the upstream
// request as an abort, so the backend's circuit breaker does not count it; the mistake itself is kept in
// `failure` and is what the client is told.
import { Readable } from 'node:stream';
import type { Multipart, MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors';
import type { FormField, TranscriptionForm } from './transcription-form';
import { MultipartEncoder } from '../../upstream/multipart-encoder';

export interface UploadLimits {
  fileBytes: number;
  limitMb: number;
}

// Small bounds for the parts around the file: a form has about a dozen short fields.
const PARSER_LIMITS = { fields: 64, fieldSize: 64 * 1024, files: 1, parts: 128, headerPairs: 64 };
const SAFE_MIME = /^[A-Za-z0-9.+-]{1,64}\/[A-Za-z0-9.+-]{1,64}$/;

/** Ends the upstream upload for a reason on the client's side; `isAbort` recognises it by name. */
class UploadAborted extends Error {
  override readonly name = 'AbortError';
}

export class AudioUpload {
  /** The client's mistake that ended the upload; it wins over what the relay makes of the abort. */
  failure?: ApiError;
  /** The whole form was read and handed to the backend. */
  complete = false;
  private readonly encoder = new MultipartEncoder();
  private readonly parts: AsyncIterator<Multipart, undefined>;
  /** Encoded fields that came before the file. */
  private readonly head: Buffer[] = [];
  private fileHeader: Buffer = Buffer.alloc(0);
  /** The file part while it streams (model known before the file). */
  private live: MultipartFile | null = null;
  /** The file's bytes when it came before the model. */
  private buffered: (Buffer | null)[] | null = null;
  private fileBytes = 0;
  private current: Readable | null = null;
  private stream: Readable | null = null;
  private discarded = false;

  private constructor(
    private readonly req: FastifyRequest,
    readonly form: TranscriptionForm,
    private readonly limits: UploadLimits,
  ) {
    this.parts = req.parts({ limits: { ...PARSER_LIMITS, fileSize: limits.fileBytes } });
  }

  /** Reads the form up to where the backend can be chosen: the model is known and the file has begun. */
  static async open(
    req: FastifyRequest,
    form: TranscriptionForm,
    limits: UploadLimits,
  ): Promise<AudioUpload> {
    const upload = new AudioUpload(req, form, limits);
    try {
      await upload.readHead();
    } catch (err) {
      upload.record(err);
      upload.discard();
      throw upload.failure ?? err;
    }
    return upload;
  }

  get contentType(): string {
    return this.encoder.contentType;
  }

  /** The backend's multipart body, produced as the backend reads it. */
  body(modelId: string): Readable {
    this.stream = Readable.from(this.generate(modelId), { objectMode: false, highWaterMark: 64 * 1024 });
    return this.stream;
  }

  /** Stops reading after a failure: the rest of the upload is read and dropped, so the client gets its answer. */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    const raw = this.req.raw;
    raw.unpipe();
    raw.resume();
    this.current?.destroy();
    this.stream?.destroy();
  }

  private async readHead(): Promise<void> {
    for (let part = await this.next(); part; part = await this.next()) {
      if (part.type === 'field') {
        this.acceptField(part, this.head);
        if (this.buffered && this.form.model !== undefined) return;
        continue;
      }
      this.startFile(part);
      if (this.form.model !== undefined) {
        this.live = part;
        return;
      }
      this.buffered = await this.bufferFile(part);
    }
    this.form.requireComplete(); // the form ended without a file or without a model
  }

  private async *generate(modelId: string): AsyncGenerator<Buffer> {
    try {
      yield* this.head.splice(0);
      yield this.fileHeader;
      yield* this.live ? this.streamFile(this.live) : this.drainBuffer();
      yield this.encoder.fileEnd();
      for (let part = await this.next(); part; part = await this.next()) {
        if (part.type === 'file') throw this.fileTwice(part);
        const fields: Buffer[] = [];
        this.acceptField(part, fields);
        yield* fields;
      }
      this.form.requireComplete();
      for (const [name, value] of this.form.backendFields(modelId)) yield this.encoder.field(name, value);
      this.complete = true;
      yield this.encoder.close();
    } catch (err) {
      this.record(err);
      throw new UploadAborted('upload ended');
    }
  }

  private async *streamFile(part: MultipartFile): AsyncGenerator<Buffer> {
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      this.count(chunk, part);
      yield chunk;
    }
    this.count(Buffer.alloc(0), part);
  }

  private *drainBuffer(): Generator<Buffer> {
    const chunks = this.buffered ?? [];
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      chunks[i] = null; // sent: let it go
      yield chunk;
    }
  }

  private async bufferFile(part: MultipartFile): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      this.count(chunk, part);
      chunks.push(chunk);
    }
    this.count(Buffer.alloc(0), part);
    return chunks;
  }

  private startFile(part: MultipartFile): void {
    this.current = part.file;
    if (part.fieldname !== 'file') throw invalid('file', 'must be the only file part');
    this.form.file(part.filename);
    // The client's file name stays here: the backend gets a neutral one with the same extension.
    const type = SAFE_MIME.test(part.mimetype) ? part.mimetype : 'application/octet-stream';
    this.fileHeader = this.encoder.fileStart('file', `audio.${this.form.extension}`, type);
  }

  private fileTwice(part: MultipartFile): ApiError {
    this.current = part.file;
    return invalid('file', 'must be sent once');
  }

  private acceptField(part: MultipartValue, out: Buffer[]): void {
    const forwarded: FormField | null = this.form.field(part.fieldname, part.value, part.valueTruncated);
    if (forwarded) out.push(this.encoder.field(forwarded[0], forwarded[1]));
  }

  private count(chunk: Buffer, part: MultipartFile): void {
    this.fileBytes += chunk.length;
    if (part.file.truncated || this.fileBytes > this.limits.fileBytes)
      throw new ApiError('request_too_large', { limitMb: this.limits.limitMb });
  }

  private async next(): Promise<Multipart | undefined> {
    const result: IteratorResult<Multipart, undefined> = await this.parts.next();
    return result.done ? undefined : result.value;
  }

  /** Keeps the first client-side failure; after discard() nothing is the client's fault any more. */
  private record(err: unknown): void {
    if (!this.discarded) this.failure ??= toUploadError(err, this.limits.limitMb);
  }
}

const invalid = (param: string, reason: string) =>
  new ApiError('invalid_request_error', { param, reason }, param);

/** Parser errors by code only (their messages are the parser's, and never reach the client). */
function toUploadError(err: unknown, limitMb: number): ApiError {
  if (err instanceof ApiError) return err;
  switch ((err as { code?: unknown } | null)?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError('request_too_large', { limitMb });
    case 'FST_FILES_LIMIT':
      return invalid('file', 'must be sent once');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return invalid('body', 'has too many parts');
    default:
      return invalid('body', 'is not a complete multipart/form-data body');
  }
}
