/**
 * A readers–writer gate: any number of `shared` sections at once, or one `exclusive` section
 * alone. A keystore node's requests are shared sections over its store; swapping in a rebuilt
 * store is exclusive (no request may be reading the store that closes). An exclusive section that
 * is waiting holds back new shared ones, so a steady stream of requests cannot starve a swap.
 */
export class Gate {
  private readers = 0;
  private writer = false;
  private queue: Array<{ exclusive: boolean; go: () => void }> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.enter(false);
    try {
      return await fn();
    } finally {
      this.leave(false);
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.enter(true);
    try {
      return await fn();
    } finally {
      this.leave(true);
    }
  }

  /** Holds a shared section open until the returned function is called (for a stream of events). */
  async hold(): Promise<() => void> {
    await this.enter(false);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave(false);
    };
  }

  private enter(exclusive: boolean): Promise<void> {
    if (!this.writer && this.queue.length === 0 && (exclusive ? this.readers === 0 : true)) {
      if (exclusive) this.writer = true;
      else this.readers++;
      return Promise.resolve();
    }
    return new Promise((go) => this.queue.push({ exclusive, go }));
  }

  private leave(exclusive: boolean): void {
    if (exclusive) this.writer = false;
    else this.readers--;
    // Wake, in order: one exclusive section once nobody is inside, or every shared one up to it.
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0]!;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.queue.shift();
        this.writer = true;
        next.go();
        return;
      }
      this.queue.shift();
      this.readers++;
      next.go();
    }
  }
}
