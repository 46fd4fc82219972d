import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  async transcribe(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.answer('transcribe', req, reply);
  }

  /** A transcription with speakers: alignment and diarization forced, diarized_json by default. */
  @Post('diarize')
  @HttpCode(200)
  async diarize(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.answer('diarize', req, reply);
  }

  private async answer(task: AudioTask, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const rendered = await this.transcriptions.transcribe(task, req, reply);
    await reply.status(200).header('content-type', rendered.contentType).send(rendered.body);
  }
}
