/** Validations and their certificates, in the hub's state database (module `validations`). */
import { notFound } from '../../../common/src/errors.ts';
import type { Db, ModuleMigrations } from '../store/db.ts';
import type { ValidationKind } from './certificate.ts';
import type { ValidationReport } from './report.ts';
import type { TableMappingInput } from './tables.ts';
import type { WorkloadQuery } from './checks/behavioral.ts';

export const validationMigrations: ModuleMigrations = {
  module: 'validations',
  migrations: [
    {
      version: 1,
      description: 'validations and certificates',
      up: `
        CREATE TABLE validations (
          id TEXT PRIMARY KEY,
          migration_id TEXT,
          source_connection_id TEXT NOT NULL,
          target_connection_id TEXT NOT NULL,
          kinds TEXT NOT NULL,
          request TEXT NOT NULL,
          status TEXT NOT NULL,
          job_id TEXT,
          outcome TEXT,
          report TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          finished_at TEXT
        );
        CREATE INDEX validations_migration ON validations(migration_id, created_at);
        CREATE TABLE validation_certificates (
          validation_id TEXT PRIMARY KEY REFERENCES validations(id) ON DELETE CASCADE,
          migration_id TEXT,
          certificate_id TEXT NOT NULL,
          jws TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE INDEX validation_certificates_migration ON validation_certificates(migration_id, created_at);
      `,
    },
  ],
};

export type ValidationStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface ValidationRequest {
  migration_id: string | null;
  source_connection_id: string;
  target_connection_id: string;
  kinds: ValidationKind[];
  tables: TableMappingInput[] | null;
  workload: WorkloadQuery[] | null;
  /** Statements captured from pg_stat_statements when no workload is given. @default 20 */
  capture_limit?: number | null;
}

export interface ValidationRecord {
  id: string;
  migration_id: string | null;
  source_connection_id: string;
  target_connection_id: string;
  kinds: ValidationKind[];
  status: ValidationStatus;
  job_id: string | null;
  /** passed | failed | inconclusive once completed. */
  outcome: string | null;
  report: ValidationReport | null;
  error: { code: string; message: string } | null;
  certificate_id: string | null;
  created_at: string;
  finished_at: string | null;
}

interface Row {
  id: string;
  migration_id: string | null;
  source_connection_id: string;
  target_connection_id: string;
  kinds: string;
  request: string;
  status: ValidationStatus;
  job_id: string | null;
  outcome: string | null;
  report: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  certificate_id: string | null;
}

const SELECT = `SELECT v.*, c.certificate_id FROM validations v LEFT JOIN validation_certificates c ON c.validation_id = v.id`;

export class ValidationStore {
  constructor(private readonly db: Db) {}

  insert(id: string, req: ValidationRequest, createdAt: string): void {
    this.db
      .prepare(`INSERT INTO validations (id, migration_id, source_connection_id, target_connection_id, kinds, request, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`)
      .run(id, req.migration_id, req.source_connection_id, req.target_connection_id, JSON.stringify(req.kinds), JSON.stringify(req), createdAt);
  }

  setJob(id: string, jobId: string): void {
    this.db.prepare(`UPDATE validations SET job_id = ? WHERE id = ?`).run(jobId, id);
  }

  setStatus(id: string, status: ValidationStatus): void {
    this.db.prepare(`UPDATE validations SET status = ? WHERE id = ?`).run(status, id);
  }

  finish(id: string, r: { status: ValidationStatus; outcome?: string | null; report?: ValidationReport | null; error?: { code: string; message: string } | null; at: string }): void {
    this.db
      .prepare(`UPDATE validations SET status = ?, outcome = ?, report = ?, error = ?, finished_at = ? WHERE id = ?`)
      .run(r.status, r.outcome ?? null, r.report ? JSON.stringify(r.report) : null, r.error ? JSON.stringify(r.error) : null, r.at, id);
  }

  request(id: string): ValidationRequest {
    const r = this.db.prepare(`SELECT request FROM validations WHERE id = ?`).get(id) as { request: string } | undefined;
    if (!r) throw notFound('validation', id);
    return JSON.parse(r.request) as ValidationRequest;
  }

  get(id: string): ValidationRecord {
    const r = this.db.prepare(`${SELECT} WHERE v.id = ?`).get(id) as Row | undefined;
    if (!r) throw notFound('validation', id);
    return toRecord(r);
  }

  /** The latest validation of a migration (finished ones first: a running one has no report yet). */
  latestForMigration(migrationId: string): ValidationRecord | null {
    const r = this.db.prepare(`${SELECT} WHERE v.migration_id = ? ORDER BY (v.report IS NOT NULL) DESC, v.created_at DESC, v.rowid DESC LIMIT 1`).get(migrationId) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  saveCertificate(validationId: string, migrationId: string | null, certificateId: string, jws: string, at: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO validation_certificates (validation_id, migration_id, certificate_id, jws, created_at) VALUES (?, ?, ?, ?, ?)`).run(validationId, migrationId, certificateId, jws, at);
  }

  certificateOf(validationId: string): { jws: string; validation_id: string } | null {
    return (this.db.prepare(`SELECT jws, validation_id FROM validation_certificates WHERE validation_id = ?`).get(validationId) as { jws: string; validation_id: string } | undefined) ?? null;
  }

  latestCertificate(migrationId: string): { jws: string; validation_id: string } | null {
    return (this.db.prepare(`SELECT jws, validation_id FROM validation_certificates WHERE migration_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`).get(migrationId) as { jws: string; validation_id: string } | undefined) ?? null;
  }
}

function toRecord(r: Row): ValidationRecord {
  return {
    id: r.id,
    migration_id: r.migration_id,
    source_connection_id: r.source_connection_id,
    target_connection_id: r.target_connection_id,
    kinds: JSON.parse(r.kinds) as ValidationKind[],
    status: r.status,
    job_id: r.job_id,
    outcome: r.outcome,
    report: r.report ? (JSON.parse(r.report) as ValidationReport) : null,
    error: r.error ? (JSON.parse(r.error) as { code: string; message: string }) : null,
    certificate_id: r.certificate_id,
    created_at: r.created_at,
    finished_at: r.finished_at,
  };
}
