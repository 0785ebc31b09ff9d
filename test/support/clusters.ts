import { defaultSpec, type ClusterSpec, type SpecOverrides } from '../../src/cluster/index.js';
import { EmbeddedCluster, type OpenOptions } from '../../src/coordinator/index.js';
import { loopbackNode } from '../../src/testing/index.js';

/**
 * How the tests open embedded clusters: through the loopback codec by default, so every request a
 * coordinator makes of a node, and every answer, is encoded to bytes and decoded on the other side
 * (the node contract crosses a socket, and every suite that opens clusters here proves it).
 * AAE_LOOPBACK=0 opens them directly, to compare.
 */
export const LOOPBACK = process.env['AAE_LOOPBACK'] !== '0';

export function testOptions(options: OpenOptions = {}): OpenOptions {
  return LOOPBACK && options.wrapNode === undefined ? { ...options, wrapNode: loopbackNode } : options;
}

export function createCluster(dir: string, spec: ClusterSpec, options: OpenOptions = {}): Promise<EmbeddedCluster> {
  return EmbeddedCluster.create(dir, spec, testOptions(options));
}

export function openCluster(dir: string, options: OpenOptions = {}): Promise<EmbeddedCluster> {
  return EmbeddedCluster.open(dir, testOptions(options));
}

export function createNamed(dir: string, name: string, overrides: SpecOverrides = {}, options: OpenOptions = {}): Promise<EmbeddedCluster> {
  return createCluster(dir, defaultSpec(name, overrides), options);
}
