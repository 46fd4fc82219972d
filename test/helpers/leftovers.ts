// Everything a test file starts that must not outlive it (apps, servers, child processes). A resource is
// registered before the wait for its readiness, so a setup that fails or passes its hook timeout still has
// its stop on record; the test environment (test/setup/environment.js) stops, after the file's last hook,
// whatever the file did not stop itself.
type Stop = () => Promise<void>;

const open = new Map<number, { name: string; stop: Stop }>();
let next = 0;

/** Records `stop` until the returned function is called; that function runs `stop` at most once. */
export function trackLeftover(name: string, stop: Stop): Stop {
  const id = next++;
  let stopping: Promise<void> | undefined;
  const once = () => {
    open.delete(id);
    stopping ??= stop();
    return stopping;
  };
  open.set(id, { name, stop: once });
  return once;
}

/** Stops every resource still open; returns the names of those it had to stop. */
export async function stopLeftovers(): Promise<string[]> {
  const left = [...open.values()];
  await Promise.allSettled(left.map(({ stop }) => stop()));
  return left.map(({ name }) => name);
}

(globalThis as { __hunzeStopLeftovers?: () => Promise<string[]> }).__hunzeStopLeftovers = stopLeftovers;
