/**
 * The segment grid: an SVG grid of the tree's branches, each cell shaded by how many of its 256
 * segments differ. A large tree's 4096 branches make a 64×64 grid; a cell's tooltip names the
 * branch, its segment range and the count. `aae inspect --html` shows it as a secondary view
 * (inspect-page.ts: segments are hash positions, so it says how much differs, not where); as a
 * page of its own it has a table of the most different branches.
 */

export interface HeatmapInput {
  title: string;
  subtitle: string;
  branchCount: number;
  /** branch id → dirty segments in it (absent: clean). */
  dirty: ReadonlyMap<number, number>;
  /** Rows for the table under the picture, already formatted. */
  rows?: ReadonlyArray<{ branch: number; dirtySegments: number; sourceKeys?: number; sinkKeys?: number }>;
  /** Column names for the two sides' key counts (default source, sink). */
  sides?: readonly [string, string];
  /** Only the grid and its legend, to embed in another page. */
  fragment?: boolean;
}

const CELL = 10;
const SEGMENTS_PER_BRANCH = 256;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** White (clean) through amber to red (every segment dirty), on a log scale: one dirty segment must show. */
export function shade(dirtySegments: number): string {
  if (dirtySegments <= 0) return '#f3f4f6';
  const t = Math.min(1, Math.log2(1 + dirtySegments) / Math.log2(1 + SEGMENTS_PER_BRANCH));
  const hue = 45 - 45 * t; // amber → red
  const light = 70 - 35 * t;
  return `hsl(${hue.toFixed(0)}, 90%, ${light.toFixed(0)}%)`;
}

export function renderHeatmap(input: HeatmapInput): string {
  const cols = Math.ceil(Math.sqrt(input.branchCount));
  const rows = Math.ceil(input.branchCount / cols);
  const cells: string[] = [];
  for (let b = 0; b < input.branchCount; b++) {
    const d = input.dirty.get(b) ?? 0;
    const x = (b % cols) * CELL;
    const y = Math.floor(b / cols) * CELL;
    const tip = `branch ${b}: segments ${b * SEGMENTS_PER_BRANCH}–${b * SEGMENTS_PER_BRANCH + SEGMENTS_PER_BRANCH - 1}, ${d} dirty`;
    cells.push(`<rect x="${x}" y="${y}" width="${CELL - 1}" height="${CELL - 1}" fill="${shade(d)}"><title>${tip}</title></rect>`);
  }
  const totalDirty = [...input.dirty.values()].reduce((a, b) => a + b, 0);
  const legend = [0, 1, 4, 16, 64, 256]
    .map((n, i) => `<rect x="${i * 70}" y="0" width="14" height="14" fill="${shade(n)}"/><text x="${i * 70 + 18}" y="12">${n === 0 ? 'clean' : `${n} dirty`}</text>`)
    .join('');
  const grid = `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * CELL}" height="${rows * CELL}" role="img" aria-label="branch heat map">
${cells.join('\n')}
</svg>
<svg xmlns="http://www.w3.org/2000/svg" width="440" height="20" style="display:block;margin-top:8px">${legend}</svg>`;
  if (input.fragment === true) return `<p class="note">${input.dirty.size} of ${input.branchCount} branches differ, ${totalDirty} dirty segment(s).</p>\n${grid}`;
  const tableRows = (input.rows ?? [])
    .map(
      (r) =>
        `<tr><td>${r.branch}</td><td>${r.branch * SEGMENTS_PER_BRANCH}–${r.branch * SEGMENTS_PER_BRANCH + SEGMENTS_PER_BRANCH - 1}</td><td>${r.dirtySegments}</td><td>${r.sourceKeys ?? ''}</td><td>${r.sinkKeys ?? ''}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111827; }
 h1 { font-size: 20px; margin: 0 0 4px; } p { margin: 0 0 16px; color: #4b5563; }
 svg text { font: 12px system-ui, sans-serif; fill: #374151; }
 table { border-collapse: collapse; margin-top: 16px; } td, th { border: 1px solid #d1d5db; padding: 4px 10px; text-align: right; }
 th { background: #f9fafb; }
</style></head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p>${escapeHtml(input.subtitle)} — ${input.dirty.size} of ${input.branchCount} branches differ, ${totalDirty} dirty segment(s).</p>
${grid}
${tableRows ? `<table><thead><tr><th>branch</th><th>segments</th><th>dirty segments</th><th>keys in ${escapeHtml(input.sides?.[0] ?? 'source')}</th><th>keys in ${escapeHtml(input.sides?.[1] ?? 'sink')}</th></tr></thead><tbody>\n${tableRows}\n</tbody></table>` : ''}
</body></html>
`;
}
