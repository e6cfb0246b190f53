import type { Dialect } from '../../../common/src/catalog.ts';
import { notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { SecretBox } from '../identity/secret-box.ts';
import { whereOf, type Db } from '../store/db.ts';
import { displayString, type ConnectionFields } from './parse.ts';

export interface ConnectionTest {
  status: 'success' | 'failed';
  tested_at: string;
  latency_ms: number | null;
  server_version: string | null;
  error?: { code: string; message: string };
  job_id: string;
}

export interface Connection {
  id: string;
  name: string;
  type: Dialect;
  host: string | null;
  port: number | null;
  database: string | null;
  user: string | null;
  has_password: boolean;
  path: string | null;
  options: Record<string, string>;
  agent_id: string;
  description: string | null;
  /** Redacted: the password shows as ***. */
  connection_string: string;
  last_test: ConnectionTest | null;
  created_at: string;
  updated_at: string;
}

interface Row {
  id: string;
  name: string;
  type: Dialect;
  host: string | null;
  port: number | null;
  database: string | null;
  user: string | null;
  password_sealed: string | null;
  path: string | null;
  options: string;
  agent_id: string;
  description: string | null;
  last_test: string | null;
  created_at: string;
  updated_at: string;
}

const toView = (r: Row): Connection => {
  const base = {
    type: r.type,
    host: r.host,
    port: r.port,
    database: r.database,
    user: r.user,
    path: r.path,
    options: JSON.parse(r.options) as Record<string, string>,
    has_password: r.password_sealed !== null,
  };
  return {
    id: r.id,
    name: r.name,
    ...base,
    agent_id: r.agent_id,
    description: r.description,
    connection_string: displayString(base),
    last_test: r.last_test ? (JSON.parse(r.last_test) as ConnectionTest) : null,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
};

/** Saved connections. Passwords go in sealed and come out only through `specFor`, for an agent task. */
export class ConnectionStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly now: () => Date = () => new Date(),
  ) {}

  create(input: ConnectionFields & { name: string; agent_id: string; description?: string | null }): Connection {
    const t = this.now().toISOString();
    const row: Row = {
      id: newId('conn'),
      name: input.name,
      type: input.type,
      host: input.host,
      port: input.port,
      database: input.database,
      user: input.user,
      password_sealed: input.password ? this.box.seal(input.password) : null,
      path: input.path,
      options: JSON.stringify(input.options ?? {}),
      agent_id: input.agent_id,
      description: input.description ?? null,
      last_test: null,
      created_at: t,
      updated_at: t,
    };
    this.db
      .prepare(
        `INSERT INTO connections (id, name, type, host, port, database, user, password_sealed, path, options, agent_id, description, last_test, created_at, updated_at)
         VALUES (@id, @name, @type, @host, @port, @database, @user, @password_sealed, @path, @options, @agent_id, @description, @last_test, @created_at, @updated_at)`,
      )
      .run(row);
    return toView(row);
  }

  private row(id: string): Row {
    const r = this.db.prepare('SELECT * FROM connections WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw notFound('connection', id);
    return r;
  }

  get(id: string): Connection {
    return toView(this.row(id));
  }

  list(f: { type?: Dialect; agent_id?: string }, orderBy: string, limit: number, offset: number): { rows: Connection[]; total: number } {
    const { where: w, args } = whereOf([
      ['type = @type', 'type', f.type],
      ['agent_id = @agent_id', 'agent_id', f.agent_id],
    ]);
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM connections ${w}`).get(args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM connections ${w} ORDER BY ${orderBy}, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as Row[];
    return { rows: rows.map(toView), total };
  }

  delete(id: string): void {
    this.row(id);
    this.db.prepare('DELETE FROM connections WHERE id = ?').run(id);
  }

  recordTest(id: string, test: ConnectionTest): void {
    this.db.prepare('UPDATE connections SET last_test = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(test), this.now().toISOString(), id);
  }

  /** The spec an agent needs to connect, password decrypted. Only for task payloads; never log it. */
  specFor(id: string): { agent_id: string; spec: ConnectionFields } {
    const r = this.row(id);
    return {
      agent_id: r.agent_id,
      spec: {
        type: r.type,
        host: r.host,
        port: r.port,
        database: r.database,
        user: r.user,
        password: r.password_sealed ? this.box.open(r.password_sealed) : null,
        path: r.path,
        options: JSON.parse(r.options) as Record<string, string>,
      },
    };
  }
}
