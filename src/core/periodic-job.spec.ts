import { PeriodicJob } from './periodic-job';

describe('PeriodicJob', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs at start and then every interval, never two runs at once, until stopped', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const job = new PeriodicJob(() => {
      runs++;
      return new Promise<void>((r) => (release = r));
    }, 1000);
    const first = job.start();
    expect(runs).toBe(1);
    jest.advanceTimersByTime(1000); // the first run is still going: no second one
    expect(runs).toBe(1);
    release();
    await first;
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(2);
    release();
    await Promise.resolve();
    job.stop();
    jest.advanceTimersByTime(5000);
    expect(runs).toBe(2);
  });
});
