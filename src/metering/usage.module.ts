import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsageRecordsRepository } from './usage-records.repository';
import { UsageService } from './usage.service';

/**
 * usage_records' repository and the usage report, without the routes, the writer and the jobs, so the CLI
 * (`hunze usage`) can sum usage too; MeteringModule imports it for its writer, retention and quotas.
 */
@Module({
  imports: [AuthModule],
  providers: [UsageRecordsRepository, UsageService],
  exports: [UsageRecordsRepository, UsageService],
})
export class UsageModule {}
