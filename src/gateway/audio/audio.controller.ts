import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Answer } from '../../core/answer';
import { Roles } from '../../core/roles.decorator';
import type { AudioTask } from './transcription-form';
import { TranscriptionService } from './transcription.service';

/** Multipart uploads, read as a stream by TranscriptionService (there is no body object to validate). */
@Controller('v1/audio')
@Roles('user', 'admin')
export class AudioController {
  constructor(@Inject(TranscriptionService) private readonly transcriptions: TranscriptionService) {}

  @Post('transcriptions')
  @HttpCode(200)
  async transcribe(@Req() req: FastifyRequest): Promise<Answer> {
    return this.answer('transcribe', req);
  }

  /** A transcription with speakers: alignment and diarization forced, diarized_json by default. */
  @Post('diarize')
  @HttpCode(200)
  async diarize(@Req() req: FastifyRequest): Promise<Answer> {
    return this.answer('diarize', req);
  }

  private async answer(task: AudioTask, req: FastifyRequest): Promise<Answer> {
    const rendered = await this.transcriptions.transcribe(task, req);
    return Answer.bytes(rendered.body, rendered.contentType);
  }
}
