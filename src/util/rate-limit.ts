// Lets a burst of events through per period and counts the rest: for log
// lines a guest can trigger, so a guest cannot flood the host's log.
import { log } from './log.js';

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

/** Log lines a guest can trigger: a burst per period, then one line saying how many were not logged. */
export class RateLimitedLog {
  private readonly limiter: RateLimiter;

  constructor(burst?: number, periodMs?: number, now?: () => number) {
    this.limiter = new RateLimiter(burst, periodMs, now);
  }

  /** A function is only called for a line that is written: a guest can make these on every exit. */
  debug(message: string | (() => string)): void {
    this.write('debug', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  private write(level: 'debug' | 'warn' | 'error', message: string | (() => string)): void {
    const { allowed, heldBack } = this.limiter.take();
    if (!allowed) return;
    const text = typeof message === 'string' ? message : message();
    log[level](heldBack > 0 ? `${text} (${heldBack} more not logged)` : text);
  }
}
