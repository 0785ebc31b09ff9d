/**
 * Racing a promise against an AbortSignal: the layers that wait on work they do not own (the
 * exchange on its sources, the fold runner on its nodes, the node server on its node) stop waiting
 * the moment they are stopped, even if the work never settles. The promise is left to settle on
 * its own; its rejection is never unhandled.
 */

/** Settles with `p`, or rejects with `reason(signal)` as soon as the signal fires (default: its reason). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, reason: (signal: AbortSignal) => unknown = (s) => s.reason): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(reason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
