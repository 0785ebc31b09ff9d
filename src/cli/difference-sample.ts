import { classifyDifference, type Difference } from '../aae/index.js';

/**
 * The rows a screen shows of a stream of differences: a few of each kind and side, so that twenty
 * rows of a compare with 15,000 missing keys and 3 concurrent ones still show a concurrent one.
 * Bounded: at most `perClass` differences of each (kind, side ahead), 12 classes at most.
 */
export class DifferenceSample<D extends Difference> {
  private readonly classes = new Map<string, D[]>();

  constructor(private readonly perClass: number) {}

  add(d: D): void {
    const c = classifyDifference(d);
    const key = `${c.kind}/${c.ahead}`;
    let list = this.classes.get(key);
    if (list === undefined) this.classes.set(key, (list = []));
    if (list.length < this.perClass) list.push(d);
  }

  /** Up to `n` rows, taken from each class in turn (the classes in the order first seen). */
  pick(n: number): D[] {
    const lists = [...this.classes.values()];
    const out: D[] = [];
    for (let i = 0; out.length < n; i++) {
      let any = false;
      for (const l of lists) {
        if (i < l.length && out.length < n) {
          out.push(l[i]!);
          any = true;
        }
      }
      if (!any) break;
    }
    return out;
  }
}
