/**
 * The checked-in `proto/node.proto`, loaded at run time with @grpc/proto-loader.
 *
 * Why loaded, not generated: generated stubs would need protoc (or buf) in every build and a
 * second copy of the schema to keep in step, and their types would promise more than protobuf
 * gives — a decoder fills every missing field with its default and accepts any message it can
 * parse. Every message is validated by our own decoders anyway (codec-*.ts), which turn the
 * loader's plain objects into the contract's typed values or refuse them with a coded error.
 *
 * Loader options: `longs: Number` (every uint64 we send is a safe integer; a decoder checks each
 * with Number.isSafeInteger, and any value past 2^53 − 1 fails that check), `defaults: true` (an
 * absent scalar reads as its zero), `oneofs: true` (the set field of a oneof is named by a
 * virtual field), bytes as Buffers (a Uint8Array).
 */
import { join } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { NODE_CONTRACT } from '../node/index.js';
import { PACKAGE_ROOT } from '../version.js';

/** The protocol's version is the node contract's: major 1 carries contract 1. */
export const PROTOCOL = NODE_CONTRACT;

export const SERVICE_NAME = 'tictac_aae.node.v1.Node';

export const PROTO_FILE = join(PACKAGE_ROOT ?? '.', 'proto', 'node.proto');

let loaded: PackageDefinition | undefined;

function definition(): PackageDefinition {
  loaded ??= loadSync(PROTO_FILE, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, arrays: true });
  return loaded;
}

export type MethodName = 'Info' | 'Fold' | 'ReadHeads' | 'ReadObjects' | 'Write';
export const METHODS: readonly MethodName[] = ['Info', 'Fold', 'ReadHeads', 'ReadObjects', 'Write'];

/** The Node service as grpc-js takes it (a server's addService, a client's makeGenericClientConstructor). */
export function nodeService(): ServiceDefinition {
  const svc = definition()[SERVICE_NAME];
  if (svc === undefined || !('Info' in svc)) throw new Error(`${PROTO_FILE} defines no ${SERVICE_NAME}`);
  return svc as unknown as ServiceDefinition;
}

/** One method's definition: its path and its (de)serializers. */
export function method(name: MethodName): MethodDefinition<unknown, unknown> {
  return nodeService()[name] as MethodDefinition<unknown, unknown>;
}

/** A message type's serializer and deserializer, by its short name (fixtures and tests). */
export function messageCodec(name: string): { encode: (value: unknown) => Buffer; decode: (bytes: Uint8Array) => unknown } {
  for (const m of METHODS) {
    const d = method(m);
    const reqName = (d as unknown as { requestType: { type: { name: string } } }).requestType.type.name;
    const resName = (d as unknown as { responseType: { type: { name: string } } }).responseType.type.name;
    if (reqName === name) return { encode: (v) => d.requestSerialize(v), decode: (b) => d.requestDeserialize(Buffer.from(b)) };
    if (resName === name) return { encode: (v) => d.responseSerialize(v), decode: (b) => d.responseDeserialize(Buffer.from(b)) };
  }
  throw new TypeError(`no request or reply message named ${name}`);
}
