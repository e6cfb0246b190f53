import v8 from 'node:v8';

/**
 * Lets V8's old generation grow to 4x its live size between full collections instead of the
 * ~1.1-1.5x it picks for a small heap. Why: the hub and agents move gigabytes through short-lived
 * buffers; with a ~30 MB live heap V8 kept the old-generation limit within one new-space of the
 * live size, so incremental marking restarted right after every mark-compact (100-120 of them
 * in a 2 GiB backup, 5 s of GC threads' CPU: more than compression). With room to grow it runs
 * a few; the cost is a heap that may reach ~4x its live size (~120 MB here) before collecting.
 * Read by V8 at every limit computation, so setting it at start-up takes effect at once
 * (`--initial-old-space-size` would do the same but is not allowed in NODE_OPTIONS, and
 * `npm start`, systemd and the bench would each need it on their command line).
 */
export const HEAP_GROWING_PERCENT = 300;

let applied = false;

export function tuneHeapGrowth(): void {
  if (applied) return;
  applied = true;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
