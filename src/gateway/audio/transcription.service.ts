// POST /v1/audio/transcriptions and /v1/audio/diarize beyond the HTTP layer: the upload is read until the
// model is known, then streamed through the one relay to the model's WhisperX backend (no failover: a
// streamed body cannot be replayed), and WhisperX's result is rendered in the client's response_format.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { callContextOf } from '../relay/call-context';
import { ApiError } from '../../core/errors';
import { HunzeConfig } from '../../config/hunze-config';
import { ModelRegistry } from '../../models/model-registry.service';
import {
  renderTranscript,
  WHISPERX_TRANSCRIPTION,
  type Rendered,
} from '../../upstream/adapters/whisperx-transcription.adapter';
import { AudioUpload, type UploadLimits } from './audio-upload';
import { TranscriptionForm, type AudioTask } from './transcription-form';
import { Relay } from '../../upstream/relay';

@Injectable()
export class TranscriptionService {
  private readonly limits: UploadLimits;

  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(Relay) private readonly relay: Relay,
    @Inject(HunzeConfig) config: HunzeConfig,
  ) {
    const limitMb = config.file.server.bodyLimitMb;
    this.limits = { limitMb, fileBytes: Math.floor(limitMb * 1024 * 1024) };
  }

  /** Takes the request itself: the upload is read from it as a stream, while the backend receives it. */
  async transcribe(task: AudioTask, req: FastifyRequest): Promise<Rendered> {
    if (!req.isMultipart()) throw new ApiError('unsupported_media_type');
    const form = new TranscriptionForm(task);
    const upload = await AudioUpload.open(req, form, this.limits);
    try {
      const model = this.models.resolveFor(form.model!, req.principal!.allowedModels, 'audio');
      const transcript = await this.relay.through(WHISPERX_TRANSCRIPTION, upload, model, callContextOf(req));
      req.facts.audioSeconds = Math.round(transcript.duration * 1000) / 1000;
      return renderTranscript(transcript, { format: form.responseFormat, granularities: form.granularities });
    } catch (err) {
      upload.discard();
      throw upload.failure ?? err;
    }
  }
}
