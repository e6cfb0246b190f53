// Preloaded through NODE_OPTIONS: the first SIGUSR2 starts the V8 CPU profiler, the second
// writes a .cpuprofile to FERRY_PROFILE_DIR; so one step of a longer run can be profiled alone.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (NODE_OPTIONS --require) */
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FERRY_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: 200 });
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, r) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `agent-${process.pid}-${Date.now()}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
