import { Module } from '@nestjs/common';

/**
 * Residency guard, audit log and report generators land here (issues 5 and 7). Today the residency
 * boot check runs in config validation (src/config/config.consistency.ts, using ./regions.ts) and the
 * metadata record is ./request-metadata.ts.
 */
@Module({})
export class ComplianceModule {}
