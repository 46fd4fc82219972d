import { Injectable } from '@nestjs/common';

/** Wall-clock time as an injectable, so expiry logic can be tested without waiting for it. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
