/**
 * Rate estimator as IPVS keeps it (net/netfilter/ipvs/ip_vs_est.c): every 2 seconds the
 * counter deltas feed an exponentially weighted average with W = 2^-2, in fixed point —
 * cps and pps scaled by 2^10, bytes/s by 2^5 — and readers round the scaled value back
 * (ip_vs_read_estimator). Pure: `tick()` is called every 2 s by its owner with the current
 * totals.
 */

/** Counter totals at one instant. */
export interface EstTotals {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/** Rates as ipvsadm --rate prints them (per second). */
export interface Rates {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

/** ip_vs_est.c's estimator interval. */
export const EST_INTERVAL_MS = 2000;

/** One estimator (per service or real server). */
export class RateEstimator {
  private last: EstTotals | null = null;
  // Scaled averages (ip_vs_estimator cps, inpps, outpps: << 10; inbps, outbps: << 5).
  private cps = 0;
  private inpps = 0;
  private outpps = 0;
  private inbps = 0;
  private outbps = 0;

  /** One 2-second step (estimation_timer / ip_vs_chain_estimation). */
  tick(t: EstTotals): void {
    const l = this.last;
    this.last = { ...t };
    if (!l) return;
    // "scaled by 2^10, but divided 2 seconds": rate = delta << 9; avg += (rate - avg) >> 2.
    // Integer arithmetic as the kernel's s64 shift (floor), so values settle exactly as there.
    const upd = (avg: number, delta: number, shift: number) => avg + Math.floor((Math.max(0, delta) * 2 ** shift - avg) / 4);
    this.cps = upd(this.cps, t.conns - l.conns, 9);
    this.inpps = upd(this.inpps, t.inpkts - l.inpkts, 9);
    this.outpps = upd(this.outpps, t.outpkts - l.outpkts, 9);
    this.inbps = upd(this.inbps, t.inbytes - l.inbytes, 4);
    this.outbps = upd(this.outbps, t.outbytes - l.outbytes, 4);
  }

  /** ip_vs_read_estimator(): (avg + 0x1FF) >> 10 for cps/pps, (avg + 0xF) >> 5 for bps. */
  read(): Rates {
    return {
      cps: Math.floor((this.cps + 0x1ff) / 1024),
      inpps: Math.floor((this.inpps + 0x1ff) / 1024),
      outpps: Math.floor((this.outpps + 0x1ff) / 1024),
      inbps: Math.floor((this.inbps + 0xf) / 32),
      outbps: Math.floor((this.outbps + 0xf) / 32),
    };
  }

  /** ip_vs_zero_estimator(): forget the averages, keep counting from the current totals. */
  zero(t?: EstTotals): void {
    this.cps = this.inpps = this.outpps = this.inbps = this.outbps = 0;
    this.last = t ? { ...t } : null;
  }
}
