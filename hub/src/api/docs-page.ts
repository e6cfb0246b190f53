/**
 * A self-contained API reference page rendered from the OpenAPI document. Appliances often
 * have no Internet access, so no CDN-hosted viewer: plain HTML, no scripts.
 */
type Doc = { info?: { title?: string; version?: string }; paths?: Record<string, Record<string, Op>> };
type Op = { summary?: string; description?: string; tags?: string[]; parameters?: { name: string; in: string; required?: boolean; description?: string }[]; requestBody?: unknown };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderDocsPage(doc: Doc): string {
  const byTag = new Map<string, string[]>();
  for (const [p, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? 'other';
      const params = (op.parameters ?? [])
        .map((x) => `<code>${esc(x.name)}</code> <small>(${esc(x.in)}${x.required ? ', required' : ''})</small>`)
        .join(', ');
      const row = `<tr><td><b>${method.toUpperCase()}</b></td><td><code>${esc(p)}</code></td><td>${esc(op.summary ?? '')}${
        params ? `<br><small>parameters: ${params}</small>` : ''
      }${op.requestBody ? '<br><small>JSON body: see openapi.json</small>' : ''}</td></tr>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), row]);
    }
  }
  const sections = [...byTag.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, rows]) => `<h2>${esc(tag)}</h2><table>${rows.join('')}</table>`)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(doc.info?.title ?? 'API')}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top}td:first-child{width:5em}code{background:#f4f4f4;padding:0 .2em}</style>
</head><body><h1>${esc(doc.info?.title ?? 'API')} <small>${esc(doc.info?.version ?? '')}</small></h1>
<p>Every endpoint takes <code>Authorization: Bearer &lt;key or token&gt;</code> unless noted. Errors: <code>{"error":{"code","message","details","request_id"}}</code>.
Machine-readable description: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
${sections}</body></html>`;
}
