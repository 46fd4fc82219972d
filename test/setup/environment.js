// Jest's Node environment, plus one step at the end of each test file, after all of its hooks: stop what
// the file started but did not stop itself (a beforeAll that failed or timed out leaves no handle behind
// to close), so nothing keeps running into the next file or keeps Jest from exiting.
const { TestEnvironment } = require('jest-environment-node');

const STOP_LIMIT_MS = 60_000;

class HunzeTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async teardown() {
    const stopLeftovers = this.global.__hunzeStopLeftovers;
    if (typeof stopLeftovers === 'function') {
      let timer;
      const limit = new Promise((resolve) => {
        timer = setTimeout(() => resolve(['(gave up after 60 s)']), STOP_LIMIT_MS);
      });
      const stopped = await Promise.race([stopLeftovers(), limit]);
      clearTimeout(timer);
      if (stopped.length > 0)
        process.stderr.write(`stopped what ${this.testPath} left running: ${stopped.join(', ')}\n`);
    }
    await super.teardown();
  }
}

module.exports = HunzeTestEnvironment;
