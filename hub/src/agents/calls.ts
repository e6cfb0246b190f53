import { FerryError } from '../../../common/src/errors.ts';

/** A hub-side handler for the agents' `Call` RPC. `agentId` is the authenticated caller. */
export type CallHandler = (agentId: string, payload: unknown) => unknown;

/**
 * Small request/response handlers by method name, e.g. `backup.missing_chunks`. Modules
 * register theirs at wiring time; an unknown method answers NOT_FOUND (`unknown_call`).
 */
export class CallRegistry {
  private readonly handlers = new Map<string, CallHandler>();

  register(method: string, fn: CallHandler): () => void {
    if (this.handlers.has(method)) throw new Error(`a handler for call ${method} is already registered`);
    this.handlers.set(method, fn);
    return () => this.handlers.delete(method);
  }

  async invoke(agentId: string, method: string, payload: unknown): Promise<unknown> {
    const fn = this.handlers.get(method);
    if (!fn) throw new FerryError('unknown_call', `The hub has no handler for call ${JSON.stringify(method)}`, { status: 404 });
    return await fn(agentId, payload);
  }
}
