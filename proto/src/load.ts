import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './generated/agent.ts';

export type { ProtoGrpcType } from './generated/agent.ts';
export type { AgentHubClient, AgentHubHandlers } from './generated/ferry/agent/v1/AgentHub.ts';
export type { EnrollmentClient, EnrollmentHandlers } from './generated/ferry/agent/v1/Enrollment.ts';
export type { AgentMessage, AgentMessage__Output } from './generated/ferry/agent/v1/AgentMessage.ts';
export type { HubMessage, HubMessage__Output } from './generated/ferry/agent/v1/HubMessage.ts';
export type { DataFrame, DataFrame__Output } from './generated/ferry/agent/v1/DataFrame.ts';
export type { PushAck, PushAck__Output } from './generated/ferry/agent/v1/PushAck.ts';
export type { PullRequest, PullRequest__Output } from './generated/ferry/agent/v1/PullRequest.ts';
export type { CallRequest, CallRequest__Output } from './generated/ferry/agent/v1/CallRequest.ts';
export type { CallResponse, CallResponse__Output } from './generated/ferry/agent/v1/CallResponse.ts';
export type { EnrollRequest__Output } from './generated/ferry/agent/v1/EnrollRequest.ts';
export type { EnrollResponse, EnrollResponse__Output } from './generated/ferry/agent/v1/EnrollResponse.ts';
export type { FetchCertificateRequest__Output } from './generated/ferry/agent/v1/FetchCertificateRequest.ts';
export type { FetchCertificateResponse, FetchCertificateResponse__Output } from './generated/ferry/agent/v1/FetchCertificateResponse.ts';

export const PROTO_FILE = 'ferry/agent/v1/agent.proto';

/** Directory holding `ferry/agent/v1/agent.proto`, from the source tree or from dist/. */
function protoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // source: proto/src -> proto ; compiled: dist/proto/src -> proto at the package root
  const candidates = [path.resolve(here, '..'), path.resolve(here, '../../../proto')];
  return candidates.find((c) => existsSync(path.join(c, PROTO_FILE))) ?? candidates[0]!;
}

/**
 * The loader options the generated types in ./generated assume (see proto/gen.sh): snake_case
 * field names as written in the .proto, 64-bit integers as JS numbers (sequence numbers and
 * byte counts stay far below 2^53), defaults filled in, and `msg` naming the set oneof member.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type AgentProto = ProtoGrpcType['ferry']['agent']['v1'];
let cached: AgentProto | undefined;

/** The `ferry.agent.v1` package: client constructors, each with its `.service` definition. */
export function loadAgentProto(): AgentProto {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_FILE, { ...LOADER_OPTIONS, includeDirs: [protoRoot()] });
  cached = (grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType).ferry.agent.v1;
  return cached;
}

/** HTTP/2 flow-control window for hub and agent channels (bulk data frames are ~1 MiB). */
export const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;
