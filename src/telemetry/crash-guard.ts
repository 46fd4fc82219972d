// Node prints an uncaught error's message and stack to stderr before it exits; a message can quote input
// (a JSON parse error shows the text it choked on). The guard routes crashes through AppLogger instead: class,
// code and stack frames only, then the exit code Node would have used.
import type { AppLogger } from './logger';

export function installCrashGuard(logger: AppLogger): void {
  const crash = (evt: string) => (err: unknown) => {
    logger.error(evt, err);
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught_exception'));
  process.on('unhandledRejection', crash('unhandled_rejection'));
}
