// Lets a burst of events through per period and counts the rest: for log
// lines a guest can trigger, so a guest cannot flood the host's log.
export class RateLimiter {
  private windowStart = -Infinity;
  private passed = 0;
  private held = 0;

  constructor(private readonly burst = 10, private readonly periodMs = 5_000, private readonly now = () => Date.now()) {}

  /** Whether this event may be logged; when it may, `heldBack` is how many were dropped before it. */
  take(): { allowed: boolean; heldBack: number } {
    const now = this.now();
    if (now - this.windowStart >= this.periodMs) {
      this.windowStart = now;
      this.passed = 0;
    }
    if (this.passed >= this.burst) {
      this.held++;
      return { allowed: false, heldBack: 0 };
    }
    this.passed++;
    const heldBack = this.held;
    this.held = 0;
    return { allowed: true, heldBack };
  }
}
