/**
 * The plugin's own tests, with node's test runner: `npm test`.
 * 1. the compliance laws every fold module keeps (tictac-aae/testing's foldModuleSuite);
 * 2. on a test node with data, run as a node runs it (its manifest checked, in a worker), against
 *    the answer worked out here from the same objects.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as sdk from 'tictac-aae/plugin';
import { foldModuleSuite, hashSizeInputs, testNode } from 'tictac-aae/testing';
import sizeHistogram from '../index.js';

const module = sizeHistogram(sdk.sdk);
const here = dirname(dirname(fileURLToPath(import.meta.url)));

foldModuleSuite(module, { queries: [{}, { bucket: 'a' }, { keyPrefix: 'x' }], badQueries: [{ keyPrefix: 3 }, { colour: 'red' }], inputs: hashSizeInputs }, test);

test('on a node: the histogram of the objects it holds, the same in a worker as in this process', async () => {
  const objects = [];
  for (let i = 0; i < 500; i++) objects.push({ bucket: i % 2 === 0 ? 'even' : 'odd', key: `k${i}`, value: new Uint8Array(i % 40) });
  for (let i = 0; i < 25; i++) objects.push({ bucket: 'even', key: `gone${i}`, value: 'x', deleted: true });
  const node = await testNode({ objects });
  try {
    const deployed = await node.foldPlugin(here, { bucket: 'even' });
    const inProcess = await node.fold(module, { bucket: 'even' });
    assert.deepEqual(deployed.acc, inProcess.acc);
    const expected = sdk.histogram.empty();
    for (const o of objects) if (o.bucket === 'even' && o.deleted !== true) sdk.histogram.add(expected, o.value.length);
    assert.deepEqual(deployed.acc, { live: 250, tombstones: 25, sizes: expected });
  } finally {
    await node.close();
  }
});
