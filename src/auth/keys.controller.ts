import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { BodyValidationPipe } from '../core/validation.pipe';
import { CreateKeyDto } from './dto/create-key.dto';
import type { CreatedKeyResponseDto, KeyResponseDto } from './dto/key-response.dto';
import { KeysService } from './keys.service';
import { Roles } from '../core/roles.decorator';

@Controller('admin/v1/keys')
export class KeysController {
  constructor(@Inject(KeysService) private readonly keys: KeysService) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  create(
    @Body(new BodyValidationPipe(CreateKeyDto, true)) dto: CreateKeyDto,
    @Req() request: FastifyRequest,
  ): Promise<CreatedKeyResponseDto> {
    return this.keys.create(dto, request.principal?.keyId);
  }

  @Get()
  @Roles('admin', 'dpo')
  async list(): Promise<{ object: 'list'; data: KeyResponseDto[] }> {
    return { object: 'list', data: await this.keys.list() };
  }

  @Delete(':id')
  @Roles('admin')
  revoke(@Param('id') id: string, @Req() request: FastifyRequest): Promise<KeyResponseDto> {
    return this.keys.revoke(id, request.principal?.keyId);
  }
}
