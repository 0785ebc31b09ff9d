import type { RepairAction } from '../repair/index.js';
import { keyToJson } from '../cluster/index.js';
import type { JsonlWriter } from './jsonl.js';

/**
 * What a repair wrote, or in a dry run would write, as the repair decides it (`onAction`, every
 * action, uncapped): counted by the side written and, with `--output FILE.jsonl` or
 * `--json-lines`, listed one JSON line per action. Keys found level (`in_sync`) are counted, not
 * listed: they are not writes. A line:
 *   {"bucket","key","kind":"copy"|"resolve"|"report"|"held_back","from","to":[places],"skipped":[places],"conflict"?,"deletes"?:true,"status":"planned"|"done"|"not_written"}
 * (`deletes`: the winner is a deletion, so the writes to `to` delete the key.)
 * A key left alone (report, held_back) is met again by every loop of the repair: it is listed once,
 * with status not_written.
 * Places are the clusters' names between two clusters, and `vnode V@node` for a repair of the
 * replicas inside one (including the replica repair that comes first between two).
 */
export class RepairListing {
  /** Keys written (copy, resolve) by place label: a cluster's name, or a vnode. */
  readonly keysByPlace = new Map<string, number>();
  listed = 0;
  private failure: unknown;
  /** Keys already listed as left alone (report, held_back): later loops meet them again. */
  private readonly leftAlone = new Set<string>();
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: JsonlWriter | undefined,
    private readonly dryRun: boolean,
  ) {}

  /** Called synchronously by the repair for every action; the writer's own order keeps the lines in order. */
  readonly onAction = (a: RepairAction): void => {
    if (a.kind === 'in_sync') return;
    // `to` names each place once: for copy and resolve the places given the winner; for report,
    // the conflicting places (nothing written); held_back writes nothing.
    if (a.kind === 'copy' || a.kind === 'resolve') for (const place of a.to) this.keysByPlace.set(place, (this.keysByPlace.get(place) ?? 0) + 1);
    if (this.writer === undefined || this.failure !== undefined) return;
    const alone = a.kind === 'report' || a.kind === 'held_back';
    if (alone) {
      const id = `${a.kind}\u0000${a.bucket}\u0000${Buffer.from(a.key).toString('base64')}`;
      if (this.leftAlone.has(id)) return;
      this.leftAlone.add(id);
    }
    this.listed++;
    const record = {
      bucket: a.bucket,
      key: keyToJson(a.key),
      kind: a.kind,
      ...(a.from === undefined ? {} : { from: a.from }),
      to: a.to,
      skipped: a.skipped,
      ...(a.conflict === undefined ? {} : { conflict: a.conflict }),
      ...(a.deletes === true ? { deletes: true } : {}),
      status: alone ? 'not_written' : this.dryRun ? 'planned' : 'done',
    };
    // The writer starts each line at once (so lines stay in order); its backpressure is awaited
    // here, in a chain, and a failure is raised at the end (the repair's callback cannot wait).
    const p = this.writer.write(record);
    this.pending = this.pending.then(() => p).catch((e: unknown) => {
      this.failure ??= e;
    });
  };

  /** Where the listing goes (a path or 'stdout'), if anywhere. */
  get target(): string | undefined {
    return this.writer?.target;
  }

  /** Keys written to `name` (between two clusters, a place is named by its cluster). */
  keysWrittenTo(name: string): number {
    return this.keysByPlace.get(name) ?? 0;
  }

  async finish(): Promise<void> {
    await this.pending;
    await this.writer?.close();
    if (this.failure !== undefined) throw this.failure;
  }
}
