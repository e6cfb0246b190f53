import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BASE62, newId, randomToken } from '../../../common/src/ids.ts';
import { FerryError, conflict, notFound } from '../../../common/src/errors.ts';
import { formatEnrollmentToken, parseEnrollmentToken } from '../../../proto/src/enrollment-token.ts';
import type { Db } from '../store/db.ts';
import { checkCsr, type HubPki } from './pki.ts';

/** Stored status. What users see adds online/offline from the live session: see `AgentView`. */
export type StoredAgentStatus = 'pending' | 'approved' | 'revoked';
export type AgentStatus = 'pending' | 'online' | 'offline' | 'revoked';

export interface AgentRow {
  id: string;
  name: string;
  hostname: string;
  version: string;
  capabilities: string;
  inventory: string;
  status: StoredAgentStatus;
  enrollment_token_id: string | null;
  csr_pem: string;
  cert_pem: string | null;
  cert_fingerprint: string | null;
  cert_expires_at: string | null;
  pickup_secret_hash: string;
  builtin: number;
  created_at: string;
  approved_at: string | null;
  revoked_at: string | null;
  last_seen: string | null;
}

/** An agent as the API shows it. */
export interface AgentView {
  id: string;
  name: string;
  status: AgentStatus;
  hostname: string;
  version: string;
  capabilities: string[];
  inventory: Record<string, unknown>;
  builtin: boolean;
  created_at: string;
  approved_at: string | null;
  revoked_at: string | null;
  last_seen: string | null;
  cert_fingerprint: string | null;
  cert_expires_at: string | null;
}

export interface EnrollmentTokenView {
  id: string;
  name: string | null;
  expires_at: string;
  max_uses: number;
  uses: number;
  auto_approve: boolean;
  created_at: string;
}

interface TokenRow {
  id: string;
  name: string | null;
  secret_hash: string;
  expires_at: string;
  max_uses: number;
  uses: number;
  auto_approve: number;
  builtin: number;
  created_at: string;
  revoked_at: string | null;
}

export interface EnrollInput {
  token: string;
  csrPem: string;
  hostname: string;
  name?: string;
  version?: string;
}

export interface EnrollOutcome {
  agentId: string;
  status: 'pending' | 'approved';
  certificatePem?: string;
  caPem: string;
  pickupSecret: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

const enrollError = (code: string, message: string, status = 401) => new FerryError(code, message, { status });

/**
 * Agent records and enrollment tokens: issues tokens, enrolls agents from token + CSR,
 * approves and revokes them, and authenticates client certificates. Emits `revoked(agentId)`
 * so live sessions can be closed at once.
 */
export class AgentRegistry extends EventEmitter<{ revoked: [agentId: string]; approved: [agentId: string] }> {
  constructor(
    private readonly db: Db,
    private readonly pki: HubPki,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
  }

  /** Creates a token; the token string is returned here once and only its hash is stored. */
  createToken(input: { expiresInSeconds?: number; maxUses?: number; autoApprove?: boolean; name?: string; builtin?: boolean }): {
    token: string;
    record: EnrollmentTokenView;
  } {
    const secret = randomToken(32, BASE62);
    const t = this.now();
    const row: TokenRow = {
      id: newId('etk'),
      name: input.name ?? null,
      secret_hash: sha256(secret),
      expires_at: new Date(t.getTime() + (input.expiresInSeconds ?? 3600) * 1000).toISOString(),
      max_uses: input.maxUses ?? 1,
      uses: 0,
      auto_approve: input.autoApprove ? 1 : 0,
      builtin: input.builtin ? 1 : 0,
      created_at: t.toISOString(),
      revoked_at: null,
    };
    this.db
      .prepare(
        `INSERT INTO enrollment_tokens (id, name, secret_hash, expires_at, max_uses, uses, auto_approve, builtin, created_at, revoked_at)
         VALUES (@id, @name, @secret_hash, @expires_at, @max_uses, @uses, @auto_approve, @builtin, @created_at, @revoked_at)`,
      )
      .run(row);
    return { token: formatEnrollmentToken({ secret, caFingerprint: this.pki.caFingerprint() }), record: tokenView(row) };
  }

  /**
   * Enroll from a token and CSR. The token is consumed (one use) in the same transaction that
   * creates the agent, so concurrent enrollments cannot exceed max_uses.
   */
  async enroll(input: EnrollInput): Promise<EnrollOutcome> {
    const parsed = parseEnrollmentToken(input.token);
    if (!parsed) throw enrollError('invalid_enrollment_token', 'The enrollment token is malformed; expected fet1.<secret>.<ca-fingerprint> as printed when it was created', 400);
    if (parsed.caFingerprint !== this.pki.caFingerprint()) {
      throw enrollError('enrollment_token_ca_mismatch', 'The enrollment token was issued by a different hub CA than this hub has; create a new token on this hub', 401);
    }
    const hash = sha256(parsed.secret);
    this.checkToken(this.findToken(hash));
    await checkCsr(input.csrPem);

    const agentId = newId('agt');
    const pickupSecret = randomToken(32, BASE62);
    const token = this.findToken(hash)!;
    const cert = token.auto_approve ? await this.pki.signCsr(input.csrPem, agentId) : undefined;
    const t = this.now().toISOString();
    this.db.transaction(() => {
      // Re-check inside the transaction: another enrollment may have used the last use meanwhile.
      const fresh = this.checkToken(this.findToken(hash));
      this.db.prepare('UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?').run(fresh.id);
      this.db
        .prepare(
          `INSERT INTO agents (id, name, hostname, version, status, enrollment_token_id, csr_pem, cert_pem, cert_fingerprint, cert_expires_at,
             pickup_secret_hash, builtin, created_at, approved_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          agentId,
          (input.name || input.hostname || agentId).slice(0, 200),
          input.hostname.slice(0, 255),
          (input.version ?? '').slice(0, 50),
          cert ? 'approved' : 'pending',
          fresh.id,
          input.csrPem,
          cert?.pem ?? null,
          cert?.fingerprint ?? null,
          cert?.notAfter ?? null,
          sha256(pickupSecret),
          fresh.builtin,
          t,
          cert ? t : null,
        );
    })();
    return {
      agentId,
      status: cert ? 'approved' : 'pending',
      certificatePem: cert?.pem,
      caPem: this.pki.caPem,
      pickupSecret,
    };
  }

  /** A pending agent's poll: its certificate once approved. The pickup secret proves it is the enrolling agent. */
  fetchCertificate(agentId: string, pickupSecret: string): { status: StoredAgentStatus; certificatePem?: string; caPem: string } {
    const row = this.row(agentId);
    if (!row || !pickupSecret || !sameHash(row.pickup_secret_hash, sha256(pickupSecret))) {
      throw enrollError('unknown_agent', 'Unknown agent id or wrong pickup secret; enroll again with a new token');
    }
    return { status: row.status, certificatePem: row.status === 'approved' ? (row.cert_pem ?? undefined) : undefined, caPem: this.pki.caPem };
  }

  /** Approve a pending agent (signs its CSR). Approving an approved agent is a no-op. */
  async approve(agentId: string): Promise<AgentRow> {
    const row = this.row(agentId);
    if (!row) throw notFound('agent', agentId);
    if (row.status === 'revoked') throw conflict('agent_revoked', `Agent ${agentId} was revoked and cannot be approved; enroll it again with a new token`);
    if (row.status === 'approved') return row;
    const cert = await this.pki.signCsr(row.csr_pem, agentId);
    this.db
      .prepare(`UPDATE agents SET status = 'approved', cert_pem = ?, cert_fingerprint = ?, cert_expires_at = ?, approved_at = ? WHERE id = ? AND status = 'pending'`)
      .run(cert.pem, cert.fingerprint, cert.notAfter, this.now().toISOString(), agentId);
    this.emit('approved', agentId);
    return this.row(agentId)!;
  }

  /** Revoke: final. Live sessions are closed by the listener of `revoked`. */
  revoke(agentId: string, opts: { allowBuiltin?: boolean } = {}): AgentRow {
    const row = this.row(agentId);
    if (!row) throw notFound('agent', agentId);
    if (row.builtin && !opts.allowBuiltin) {
      throw conflict('builtin_agent', `Agent ${agentId} is the hub's built-in agent; turn it off with FERRY_BUILTIN_AGENT=off instead of revoking it`);
    }
    if (row.status !== 'revoked') {
      this.db.prepare(`UPDATE agents SET status = 'revoked', revoked_at = ? WHERE id = ?`).run(this.now().toISOString(), agentId);
    }
    this.emit('revoked', agentId);
    return this.row(agentId)!;
  }

  /**
   * The agent a TLS peer certificate belongs to. The certificate must be one this hub issued
   * (chain to our CA, valid now) and stored for a non-revoked agent.
   */
  authenticate(certDer: Buffer | undefined): AgentRow {
    if (!certDer || certDer.length === 0) {
      throw new FerryError('client_certificate_required', 'client certificate required: run "ferry-agent enroll" first and connect with the issued certificate', { status: 401 });
    }
    const fp = createHash('sha256').update(certDer).digest('hex');
    const row = this.db.prepare('SELECT * FROM agents WHERE cert_fingerprint = ?').get(fp) as AgentRow | undefined;
    if (!row || !this.pki.verifyIssued(certDer)) {
      throw new FerryError('unknown_client_certificate', 'client certificate is not one this hub issued (or it expired); enroll the agent again', { status: 401 });
    }
    if (row.status === 'revoked') throw new FerryError('agent_revoked', `agent ${row.id} was revoked`, { status: 403 });
    return row;
  }

  row(agentId: string): AgentRow | undefined {
    return this.db.prepare('SELECT * FROM agents WHERE id = ?').get(agentId) as AgentRow | undefined;
  }

  /** Records what the agent said in its hello. */
  recordHello(agentId: string, h: { hostname: string; version: string; capabilities: string[]; inventory: Record<string, unknown> }): void {
    this.db
      .prepare('UPDATE agents SET hostname = ?, version = ?, capabilities = ?, inventory = ?, last_seen = ? WHERE id = ?')
      .run(h.hostname.slice(0, 255), h.version.slice(0, 50), JSON.stringify(h.capabilities.slice(0, 100)), JSON.stringify(h.inventory), this.now().toISOString(), agentId);
  }

  touch(agentId: string, at: Date = this.now()): void {
    this.db.prepare('UPDATE agents SET last_seen = ? WHERE id = ?').run(at.toISOString(), agentId);
  }

  list(q: { status?: AgentStatus; limit: number; offset: number; orderBy: string; online: (id: string) => boolean }): { rows: AgentRow[]; total: number } {
    // online/offline are derived, so those two filters select approved agents and split them in memory.
    const stored = q.status === 'online' || q.status === 'offline' ? 'approved' : q.status;
    const where = stored ? 'WHERE status = ?' : '';
    const args = stored ? [stored] : [];
    let rows = this.db.prepare(`SELECT * FROM agents ${where} ORDER BY ${q.orderBy}, id`).all(...args) as AgentRow[];
    if (q.status === 'online') rows = rows.filter((r) => q.online(r.id));
    if (q.status === 'offline') rows = rows.filter((r) => !q.online(r.id));
    return { rows: rows.slice(q.offset, q.offset + q.limit), total: rows.length };
  }

  builtinAgent(): AgentRow | undefined {
    return this.db.prepare(`SELECT * FROM agents WHERE builtin = 1 AND status != 'revoked' ORDER BY created_at DESC LIMIT 1`).get() as AgentRow | undefined;
  }

  private findToken(hash: string): TokenRow | undefined {
    return this.db.prepare('SELECT * FROM enrollment_tokens WHERE secret_hash = ?').get(hash) as TokenRow | undefined;
  }

  private checkToken(row: TokenRow | undefined): TokenRow {
    if (!row) throw enrollError('invalid_enrollment_token', 'The enrollment token is not known to this hub; check it was copied whole, or create a new one');
    if (row.revoked_at) throw enrollError('enrollment_token_revoked', `The enrollment token ${row.id} was revoked; create a new one`);
    if (Date.parse(row.expires_at) <= this.now().getTime()) {
      throw enrollError('enrollment_token_expired', `The enrollment token ${row.id} expired at ${row.expires_at}; create a new one with POST /api/v1/agents/enrollment-tokens`);
    }
    if (row.uses >= row.max_uses) {
      throw enrollError('enrollment_token_used_up', `The enrollment token ${row.id} has been used ${row.uses} of ${row.max_uses} times; create a new one`);
    }
    return row;
  }
}

function tokenView(r: TokenRow): EnrollmentTokenView {
  return { id: r.id, name: r.name, expires_at: r.expires_at, max_uses: r.max_uses, uses: r.uses, auto_approve: r.auto_approve === 1, created_at: r.created_at };
}

/** The API view of an agent row given whether it has a live session. */
export function agentView(r: AgentRow, online: boolean): AgentView {
  const status: AgentStatus = r.status === 'approved' ? (online ? 'online' : 'offline') : r.status;
  return {
    id: r.id,
    name: r.name,
    status,
    hostname: r.hostname,
    version: r.version,
    capabilities: safeJson<string[]>(r.capabilities, []),
    inventory: safeJson<Record<string, unknown>>(r.inventory, {}),
    builtin: r.builtin === 1,
    created_at: r.created_at,
    approved_at: r.approved_at,
    revoked_at: r.revoked_at,
    last_seen: r.last_seen,
    cert_fingerprint: r.cert_fingerprint,
    cert_expires_at: r.cert_expires_at,
  };
}

function safeJson<T>(s: string, fallback: T): T {
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}
