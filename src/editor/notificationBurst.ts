/**
 * Decides when held calls stop getting a notification each ("many held calls at once
 * raise one summary rather than a flood"): more than `size` arrivals within `windowMs`.
 * Free of `vscode` and of clocks, so it is unit-tested with plain timestamps.
 */
export class NotificationBurst {
  private arrivals: number[] = [];

  constructor(
    private readonly size = 3,
    private readonly windowMs = 2_000,
  ) {}

  /** Records an arrival at `now`; true when it belongs to a burst and should be summed up. */
  arrive(now: number): boolean {
    this.arrivals = [...this.arrivals.filter((at) => now - at < this.windowMs), now];
    return this.arrivals.length > this.size;
  }
}
