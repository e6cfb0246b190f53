import { FLOW_CONTROL_WINDOW } from '../../../proto/src/load.ts';
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { loadAgentProto, type AgentHubClient, type EnrollmentClient } from '../../../proto/src/load.ts';

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * Server identity check for the hub. The hub's certificate must chain to the hub CA we pinned
 * (grpc-js verifies that against `rootCerts`, and that CA is private to this hub), so the host
 * name adds nothing: agents reach hubs by IPs and names the certificate cannot foresee (NAT,
 * DNS aliases, the built-in agent on 127.0.0.1). What does matter is that the peer is the hub
 * and not another agent, whose certificate chains to the same CA: only the hub's certificate
 * carries the serverAuth extended key usage (agent certificates are clientAuth only).
 */
export function checkHubIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const eku = (cert as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage ?? [];
  return eku.includes(OID_SERVER_AUTH) ? undefined : new Error('the peer certificate is not a hub server certificate (no serverAuth usage)');
}

/** 16 MiB to match the hub; frames are ~1 MiB. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
  // See the hub's server options: the default 64 KiB window throttles bulk frames.
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
  // Notice a dead hub (or NAT dropping the flow) within ~30 s even when no task is running.
  'grpc.keepalive_time_ms': 15_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Reconnection is our loop's job; keep grpc-js's own retry from hiding failures.
  'grpc.enable_retries': 0,
};

export function enrollmentClient(hub: string, caPem: string): EnrollmentClient {
  const creds = grpc.credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: checkHubIdentity });
  return new (loadAgentProto().Enrollment)(hub, creds, CHANNEL_OPTIONS);
}

export function agentHubClient(hub: string, s: { caPem: string; keyPem: string; certPem: string }): AgentHubClient {
  const creds = grpc.credentials.createSsl(Buffer.from(s.caPem), Buffer.from(s.keyPem), Buffer.from(s.certPem), { checkServerIdentity: checkHubIdentity });
  return new (loadAgentProto().AgentHub)(hub, creds, CHANNEL_OPTIONS);
}

/** A gRPC error's status code and text, or undefined for other errors. */
export function grpcStatusOf(e: unknown): { code: number; details: string; ferryCode?: string } | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number') {
    const se = e as grpc.ServiceError;
    const fc = se.metadata?.get('ferry-error-code')[0];
    return { code: se.code, details: se.details ?? se.message, ferryCode: typeof fc === 'string' ? fc : undefined };
  }
  return undefined;
}
