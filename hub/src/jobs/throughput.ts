/** Per-second rates of growing counters over a sliding window of samples. */
export class RateWindow {
  private samples: { t: number; c: Record<string, number> }[] = [];

  constructor(private readonly windowMs = 5000) {}

  add(t: number, counters: Record<string, number>): Record<string, number> {
    this.samples.push({ t, c: { ...counters } });
    while (this.samples.length > 2 && this.samples[0]!.t < t - this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rates: Record<string, number> = {};
    if (dt <= 0) return rates;
    for (const [k, v] of Object.entries(counters)) {
      const before = first.c[k] ?? 0;
      rates[`${k}_per_second`] = Math.max(0, Math.round((v - before) / dt));
    }
    return rates;
  }
}
