import { Body, Controller, Get, Inject, Param, Put, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { BodyValidationPipe } from '../core/validation.pipe';
import { AccountsService } from './accounts.service';
import type { AccountResponseDto } from './dto/account-response.dto';
import { SetAccountLimitsDto } from './dto/set-account-limits.dto';
import { Roles } from '../core/roles.decorator';

@Controller('admin/v1/accounts')
export class AccountsController {
  constructor(@Inject(AccountsService) private readonly accounts: AccountsService) {}

  @Get()
  @Roles('admin', 'dpo')
  async list(): Promise<{ object: 'list'; data: AccountResponseDto[] }> {
    return { object: 'list', data: await this.accounts.list() };
  }

  @Put(':name')
  @Roles('admin')
  setLimits(
    @Param('name') name: string,
    @Body(new BodyValidationPipe(SetAccountLimitsDto, true)) dto: SetAccountLimitsDto,
    @Req() request: FastifyRequest,
  ): Promise<AccountResponseDto> {
    return this.accounts.setLimits(name, dto, request.principal?.keyId);
  }
}
