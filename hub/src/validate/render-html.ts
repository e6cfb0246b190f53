/** A human-readable rendering of a certificate (self-contained HTML, no scripts). */
import { VALIDATION_KINDS, type Certificate } from './certificate.ts';

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function renderCertificateHtml(cert: Certificate, jws: string): string {
  const rows = VALIDATION_KINDS.map((k) => {
    const c = cert.checks[k];
    const counts = Object.entries(c.counts).map(([n, v]) => `${esc(n)}: ${esc(v)}`).join(', ');
    const queries = (c.queries ?? []).map((q) => `<br>${esc(q.name)} (${esc(q.source)}): ${esc(q.status)}`).join('');
    return `<tr class="${esc(c.status)}"><td>${esc(k)}</td><td>${esc(c.status)}</td><td>${counts || '—'}</td><td>${esc(c.reason ?? '')}${queries}</td></tr>`;
  }).join('\n');
  const fp = (label: string, f: Certificate['source']) =>
    `<tr><th>${label}</th><td>${esc(f.dialect)} ${esc(f.server_version)}</td><td>${esc(f.database)}</td><td><code>${esc(f.schema_digest)}</code></td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ferry equivalence certificate ${esc(cert.certificate_id)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}.passed td:nth-child(2){color:#075}.failed td:nth-child(2),.error td:nth-child(2){color:#b00}
.not_run td:nth-child(2){color:#777}code{font-size:.85em;word-break:break-all}.outcome{font-size:1.4rem}</style></head>
<body>
<h1>Behavioral Equivalence Certificate</h1>
<p class="outcome">Outcome: <strong>${esc(cert.outcome)}</strong></p>
<table>
<tr><th>Certificate</th><td colspan="3"><code>${esc(cert.certificate_id)}</code> (${esc(cert.format)})</td></tr>
<tr><th>Migration</th><td colspan="3">${esc(cert.migration_id ?? '(on-demand validation)')}</td></tr>
<tr><th>Validation</th><td colspan="3">${esc(cert.validation_id)}</td></tr>
<tr><th>Window</th><td colspan="3">${esc(cert.window.started_at)} → ${esc(cert.window.finished_at)}</td></tr>
<tr><th>Issued</th><td colspan="3">${esc(cert.issued_at)} by hub ${esc(cert.hub.hub_id)}, key <code>${esc(cert.hub.kid)}</code></td></tr>
<tr><th>Plan digest</th><td colspan="3"><code>${esc(cert.plan_digest ?? 'none')}</code></td></tr>
</table>
<h2>Endpoints</h2>
<table><tr><th></th><th>Server</th><th>Database</th><th>Schema digest</th></tr>
${fp('Source', cert.source)}
${fp('Target', cert.target)}
</table>
<h2>Checks</h2>
<table><tr><th>Kind</th><th>Status</th><th>Counts</th><th>Reason</th></tr>
${rows}
</table>
<h2>Signed form (JWS, EdDSA)</h2>
<p>Verify offline: <code>ferry-hub verify-certificate cert.jws --public-key jwks.json</code>, with the key set from <code>/api/v1/certificates/jwks.json</code>.</p>
<p><code>${esc(jws)}</code></p>
</body></html>
`;
}
