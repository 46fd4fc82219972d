import { Module } from '@nestjs/common';
import { ReportsController } from './reports.controller';
import { ReportsModule } from './reports.module';

/** The report generators (./reports.module.ts, also used by the CLI) and their admin route. */
@Module({ imports: [ReportsModule], controllers: [ReportsController] })
export class ReportsHttpModule {}
