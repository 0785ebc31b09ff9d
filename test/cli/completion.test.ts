import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

/** `aae completion bash|zsh`, run by the real shells (.ci/run installs zsh). */
const run = promisify(execFile);

async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const cword = words.length - 1;
  const { stdout } = await run('bash', ['-c', `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _aae; printf '%s\\n' "\${COMPREPLY[@]}"`, script]);
  return stdout.split('\n').filter((l) => l !== '');
}

describe('aae completion', () => {
  test('bash: commands, their options (from the program itself), subcommands, and files for arguments', () =>
    withTempDir(async (tmp) => {
      const r = await aae('completion', 'bash');
      expect(r.code).toBe(0);
      const script = join(tmp, 'aae.bash');
      await writeFile(script, r.stdout);
      expect(await bashComplete(script, ['aae', 'comp'])).toEqual(['compare', 'completion']);
      expect(await bashComplete(script, ['aae', 'compare', './a', '--out'])).toEqual(['--output']);
      expect((await bashComplete(script, ['aae', 'compare', '--json'])).sort()).toEqual(['--json', '--json-lines']);
      expect(await bashComplete(script, ['aae', 'inspect', '--max-s'])).toEqual(['--max-segments']);
      expect(await bashComplete(script, ['aae', 'sync', 'a', 'b', '--status', '--max-a'])).toEqual(['--max-age']);
      expect(await bashComplete(script, ['aae', 'cluster', 'cr'])).toEqual(['create']);
      expect(await bashComplete(script, ['aae', 'cluster', 'create', '--ring'])).toEqual(['--ring-size']);
      expect(await bashComplete(script, ['aae', '--log'])).toEqual(['--log-level']);
      await writeFile(join(tmp, 'data.jsonl'), '');
      expect(await bashComplete(script, ['aae', 'load', join(tmp, 'data.j')])).toEqual([join(tmp, 'data.jsonl')]);
      expect((await aae('completion', 'fish')).code).toBe(2);
    }));

  test('zsh: the script parses, registers _aae for aae, and offers every command and its options', () =>
    withTempDir(async (tmp) => {
      const r = await aae('completion', 'zsh');
      const script = join(tmp, '_aae');
      await writeFile(script, r.stdout);
      await run('zsh', ['-n', script]);
      const { stdout } = await run('zsh', ['-c', `autoload -U compinit; compinit -u -d "${tmp}/.zcompdump"; source "$0"; print -r -- $_comps[aae]`, script]);
      expect(stdout.trim()).toBe('_aae');
      for (const cmd of ['compare', 'repair', 'inspect', 'sync', 'completion']) expect(r.stdout).toContain(`'${cmd}:`);
      expect(r.stdout).toMatch(/'--output\[[^\]]+\]:output:_files'/);
    }));
});
