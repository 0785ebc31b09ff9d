import type { DifferenceKind, DriftProfileJson, InspectReport, SummaryJson } from '../aae/index.js';
import { renderHeatmap } from './heatmap.js';
import { keyText } from './render-comparison.js';
import type { SideNames } from './render-summary.js';

/**
 * The page `aae inspect --html` writes: one self-contained HTML file (no scripts, no network) that
 * answers "where and when did the drift happen", in this order:
 *   1. differences by bucket × kind (and side); every cell links to its keys (section 5);
 *   2. when: a histogram of the differing keys' lastModified — an outage is a band;
 *   3. where: differing keys per partition of each cluster's ring, and per node;
 *   4. the segment grid (secondary: segments are hash positions, so damage spreads evenly there);
 *   5. the keys of each cell (the first few; the rest by `aae compare … --output`).
 */
export interface InspectPageInput {
  report: InspectReport;
  names: SideNames;
  /** The command that lists every difference, for the "and N more" lines. */
  listAll: string;
}

const KINDS: ReadonlyArray<[DifferenceKind, string]> = [
  ['missing', 'missing on one side'],
  ['newer', 'one side newer'],
  ['concurrent', 'concurrent'],
  ['tombstone', 'tombstone vs value'],
];

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (n: number): string => n.toLocaleString('en-US');
const iso = (t: number): string => new Date(t).toISOString().replace(':00.000Z', 'Z').replace('.000Z', 'Z');

function cellId(bucket: string, kind: DifferenceKind, cells: DriftProfileJson['cells']): string | undefined {
  const i = cells.findIndex((c) => c.bucket === bucket && c.kind === kind);
  return i < 0 ? undefined : `cell-${i}`;
}

function summaryTable(s: SummaryJson, profile: DriftProfileJson, names: SideNames): string {
  const sides = (k: { source: number; sink: number; both: number }) =>
    k.both > 0 && k.source + k.sink === 0 ? '' : ` <span class="side">(${names.source} ${num(k.source)} · ${names.sink} ${num(k.sink)})</span>`;
  const rows = s.buckets.slice(0, 50).map((b) => {
    const cells = KINDS.map(([kind]) => {
      const k = b.kinds[kind];
      const n = k.source + k.sink + k.both;
      if (n === 0) return '<td class="zero">0</td>';
      const id = cellId(b.bucket, kind, profile.cells);
      const count = id === undefined ? num(n) : `<a href="#${id}">${num(n)}</a>`;
      return `<td class="hot" style="background:${heat(n / Math.max(1, s.total))}">${count}${kind === 'concurrent' ? '' : sides(k)}</td>`;
    }).join('');
    return `<tr><th>${esc(b.bucket)}</th><td>${num(b.total)}</td>${cells}</tr>`;
  });
  const more = s.buckets.length > 50 ? `<p>… and ${s.buckets.length - 50} more buckets (--json lists them all).</p>` : '';
  return `<table class="summary" id="summary"><thead><tr><th>bucket</th><th>differences</th>${KINDS.map(([, t]) => `<th>${t}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>${more}`;
}

/** Pale to strong amber by share of all differences. */
function heat(share: number): string {
  const t = Math.min(1, Math.sqrt(share));
  return `hsl(35, 95%, ${(96 - 40 * t).toFixed(0)}%)`;
}

const BAR = '#d9480f';

function histogram(p: DriftProfileJson['time']): string {
  if (p.counts.length === 0) return `<p>No differing key carries a time${p.untimed > 0 ? ` (${num(p.untimed)} were written without lastModified)` : ''}.</p>`;
  const W = 720;
  const H = 160;
  const max = Math.max(...p.counts);
  const w = W / p.counts.length;
  // A log scale: an outage's band of a hundred keys a minute must show beside a spike of thousands.
  const scale = Math.log1p(max);
  const bars = p.counts
    .map((c, i) => {
      if (c === 0) return '';
      const h = Math.max(2, (Math.log1p(c) / scale) * H);
      const from = p.startMs! + i * p.binMs;
      return `<rect class="bar" x="${(i * w).toFixed(2)}" y="${(H - h).toFixed(2)}" width="${Math.max(1, w - (w > 3 ? 1 : 0)).toFixed(2)}" height="${h.toFixed(2)}" fill="${BAR}"><title>${iso(from)} – ${iso(from + p.binMs)}: ${num(c)}</title></rect>`;
    })
    .join('');
  const end = p.startMs! + p.counts.length * p.binMs;
  return `<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 22}" role="img" aria-label="differing keys by last modified">
<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>${bars}
<line x1="0" y1="${H + 0.5}" x2="${W}" y2="${H + 0.5}" stroke="#9ca3af"/>
<text x="0" y="${H + 16}">${iso(p.startMs!)}</text><text x="${W}" y="${H + 16}" text-anchor="end">${iso(end)}</text></svg>
<p class="note">Bins of ${duration(p.binMs)}, heights on a log scale; tallest ${num(max)} keys (hover a bar for its count).${p.untimed > 0 ? ` ${num(p.untimed)} differing key(s) carry no time (loaded without lastModified) and are not drawn.` : ''}</p>`;
}

function duration(ms: number): string {
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${(ms / 3_600_000).toFixed(ms % 3_600_000 === 0 ? 0 : 1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

function partitions(side: DriftProfileJson['sides'][number]): string {
  const W = 720;
  const H = 60;
  const max = Math.max(1, ...side.partitions);
  const w = W / side.partitions.length;
  const bars = side.partitions
    .map((c, i) => (c === 0 ? '' : `<rect x="${(i * w).toFixed(2)}" y="${(H - (c / max) * H).toFixed(2)}" width="${Math.max(1, w - 1).toFixed(2)}" height="${((c / max) * H).toFixed(2)}" fill="#1c7ed6"><title>partition ${i}: ${num(c)}</title></rect>`))
    .join('');
  const nodes = Object.entries(side.nodes)
    .sort((a, b) => b[1] - a[1])
    .map(([n, c]) => `<tr><th>${esc(n)}</th><td>${num(c)}</td></tr>`)
    .join('');
  return `<h3>${esc(side.cluster)} (ring of ${side.ringSize})</h3>
<svg class="partitions" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="differing keys per partition of ${esc(side.cluster)}">${bars}</svg>
<table class="nodes"><thead><tr><th>node</th><th>differing keys</th></tr></thead><tbody>${nodes}</tbody></table>`;
}

function cellLists(profile: DriftProfileJson, names: SideNames, listAll: string): string {
  return profile.cells
    .map((c, i) => {
      const keys = c.keys.map((k) => `<li>${esc(keyText(k.key))} <span class="side">${k.ahead === 'source' ? esc(names.source) : k.ahead === 'sink' ? esc(names.sink) : 'concurrent'}</span></li>`).join('');
      const more = c.count > c.keys.length ? `<p class="note">… and ${num(c.count - c.keys.length)} more: <code>${esc(listAll.replace('{bucket}', c.bucket))}</code></p>` : '';
      return `<section id="cell-${i}"><h3>${esc(c.bucket)} · ${KINDS.find(([k]) => k === c.kind)![1]} (${num(c.count)})</h3><ul class="keys">${keys}</ul>${more}</section>`;
    })
    .join('\n');
}

export function renderInspectPage({ report: r, names, listAll }: InspectPageInput): string {
  const s = r.summary;
  const counted = r.pairs.reduce((n, p) => n + p.segments.length, 0);
  const dirty = r.pairs.reduce((n, p) => n + p.dirtySegments, 0);
  const title = r.kind === 'clusters' ? `${names.source} ↔ ${names.sink}` : `replicas of ${names.source}`;
  const capped = counted < dirty ? ` Counted ${num(counted)} of ${num(dirty)} dirty segments (--max-segments ${r.maxSegments}; --max-segments 0 counts them all).` : '';
  const dirtyBranches = new Map<number, number>();
  for (const p of r.pairs) for (const b of p.dirtyBranches) dirtyBranches.set(b.branch, (dirtyBranches.get(b.branch) ?? 0) + b.dirtySegments);
  const grid = renderHeatmap({ title, subtitle: '', branchCount: r.branchCount, dirty: dirtyBranches, fragment: true });
  const ahead = `${names.source} ahead ${num(s.ahead.source)} · ${names.sink} ahead ${num(s.ahead.sink)}${s.ahead.both > 0 ? ` · concurrent ${num(s.ahead.both)}` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}: ${num(s.total)} differing keys</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111827; max-width: 980px; }
 h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 6px; } h3 { font-size: 14px; margin: 14px 0 4px; }
 p { margin: 0 0 10px; color: #374151; } .note { color: #6b7280; font-size: 12px; } .side { color: #6b7280; font-size: 12px; }
 svg text { font: 11px system-ui, sans-serif; fill: #374151; }
 table { border-collapse: collapse; } td, th { border: 1px solid #d1d5db; padding: 4px 10px; text-align: right; } th { background: #f9fafb; text-align: left; }
 td.zero { color: #9ca3af; } td.hot a { color: #111827; font-weight: 600; } ul.keys { columns: 3; font-family: ui-monospace, monospace; font-size: 12px; }
 table.nodes { margin: 6px 0 12px; }
</style></head>
<body>
<h1 id="title">${esc(title)}: ${num(s.total)} differing key${s.total === 1 ? '' : 's'}</h1>
<p>${ahead}. A snapshot of the ${r.treeSize} trees (${r.branchCount} branches), without compare's confirmation: writes in flight may show.${capped}</p>
<h2>What differs: by bucket and kind</h2>
${s.total === 0 ? '<p>No differing keys.</p>' : summaryTable(s, r.profile, names)}
<h2>When: differing keys by last modified</h2>
${histogram(r.profile.time)}
<h2>Where: by partition and node</h2>
<p class="note">Each key counts in the partition of its key in each ring, and on the node holding its first replica${r.kind === 'replicas' ? ' (here: both nodes of the replica pair that differs)' : ''}.</p>
${r.profile.sides.map(partitions).join('\n')}
<h2>Segments (secondary)</h2>
<p class="note">Segments are hash positions: damage in one bucket, node or hour spreads evenly over them, so this grid says how much, not where.</p>
${grid}
<h2>Keys</h2>
${cellLists(r.profile, names, listAll)}
</body></html>
`;
}
