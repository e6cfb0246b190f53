import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TransportStats } from '../agents/relay.ts';

/** Prometheus metrics of one hub process. Gauges that need a look-up are collected on scrape. */
export class HubMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;

  constructor(collect: { agentsOnline: () => number; jobsByStatus: () => Record<string, number>; agentData?: () => TransportStats }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_hub_' });
    this.httpRequests = new Counter({
      name: 'ferry_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'ferry_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    new Gauge({
      name: 'ferry_agents_online',
      help: 'Agents with an open session',
      registers: [this.registry],
      collect() {
        this.set(collect.agentsOnline());
      },
    });
    new Counter({
      name: 'ferry_agent_data_bytes_total',
      help: 'Bytes agents pushed to (in) and pulled from (out) the hub, by transport (data_plane or grpc)',
      labelNames: ['transport', 'direction'],
      registers: [this.registry],
      collect() {
        const t = collect.agentData?.();
        if (!t) return;
        this.reset();
        this.inc({ transport: 'data_plane', direction: 'in' }, t.dataPlane.bytesIn);
        this.inc({ transport: 'data_plane', direction: 'out' }, t.dataPlane.bytesOut);
        this.inc({ transport: 'grpc', direction: 'in' }, t.grpc.bytesIn);
        this.inc({ transport: 'grpc', direction: 'out' }, t.grpc.bytesOut);
      },
    });
    new Gauge({
      name: 'ferry_jobs',
      help: 'Jobs by status',
      labelNames: ['status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [s, n] of Object.entries(collect.jobsByStatus())) this.set({ status: s }, n);
      },
    });
  }
}
