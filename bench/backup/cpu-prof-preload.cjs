// Preloaded through NODE_OPTIONS (which refuses --cpu-prof): profiles the whole process with
// the inspector and writes a .cpuprofile to FERRY_PROFILE_DIR when the process exits.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FERRY_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  const write = () => {
    session.post('Profiler.stop', (err, r) => {
      if (!err) {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `agent-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
      }
    });
  };
  process.on('SIGUSR2', write);
}
