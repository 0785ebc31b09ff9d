import { AaeError } from '../errors.js';

/**
 * The limits of one command's run: the user's Ctrl-C or SIGTERM (the CLI's signal) and its
 * `--timeout`. Work handed to `run` gets a signal that fires on either, and `run` settles as soon
 * as it fires, whether or not the work heeds it: a fold module loaded from a file may ignore its
 * signal, or await a promise that never settles (the process then exited 13, Node's code for a
 * top-level await left pending, with no message even under --timeout). The caller still closes
 * its stores (the work's promise is left behind; the stores it used are closed under it, and
 * their iterators with them), and the process exits once the command has answered (main.ts).
 */
export class CommandLimit {
  private readonly controller = new AbortController();
  private readonly stopped: Promise<never>;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly outer: AbortSignal | undefined,
    timeoutMs: number | undefined,
    what: string,
  ) {
    let stop!: (e: AaeError) => void;
    this.stopped = new Promise<never>((_, reject) => {
      stop = (e) => {
        if (!this.controller.signal.aborted) this.controller.abort(e);
        reject(e);
      };
    });
    this.stopped.catch(() => undefined); // observed by run(); a limit never used must not be unhandled
    const interrupted = (): AaeError => new AaeError('ABORTED', `${what} interrupted`, { cause: outer?.reason });
    if (outer?.aborted) stop(interrupted());
    else if (outer !== undefined) {
      this.onAbort = () => stop(interrupted());
      outer.addEventListener('abort', this.onAbort, { once: true });
    }
    this.timer = timeoutMs === undefined ? undefined : setTimeout(() => stop(new AaeError('TIMEOUT', `${what} ran past its ${timeoutMs} ms timeout`)), timeoutMs);
  }

  /** Fires (its reason an ABORTED or TIMEOUT AaeError) when the command must stop. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `work(signal)`, or the ABORTED / TIMEOUT that came first, even if the work never settles. */
  async run<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.controller.signal.aborted) throw this.controller.signal.reason as AaeError;
    const running = work(this.controller.signal);
    running.catch(() => undefined); // a late rejection, after the limit won, is not unhandled
    return Promise.race([running, this.stopped]);
  }

  /** Stops the timer and the listener (call when the command ends). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.outer?.removeEventListener('abort', this.onAbort);
  }
}
