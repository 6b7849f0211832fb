// Loaded (--import) into `npm test`'s runner and the test-file processes it starts, which run in
// a process group of their own (scripts/run-tests.mjs): should the process that started the run
// die without passing a signal on (SIGKILL, a CI timeout), the group would otherwise live on with
// no watchdog, holding CI's output open. Every 2 s: is it still there? If not, end the group.
const parent = Number(process.env.ANAF_FLOW_TEST_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      try {
        process.kill(0, 'SIGKILL'); // 0: this process's group, the run's
      } catch {
        process.exit(1);
      }
    }
  }, 2_000).unref();
}
