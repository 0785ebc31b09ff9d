import { expect, test } from 'vitest';
import { AaeError, isAaeError } from '../src/errors.js';

test('AaeError carries a stable code and its exit class', () => {
  const e = new AaeError('TREE_SIZE_UNKNOWN', 'no such size');
  expect(isAaeError(e, 'TREE_SIZE_UNKNOWN')).toBe(true);
  expect(isAaeError(e, 'USAGE')).toBe(false);
  expect(e.kind).toBe('input');
  expect(new AaeError('STORE_IO', 'disk').kind).toBe('failure');
});
