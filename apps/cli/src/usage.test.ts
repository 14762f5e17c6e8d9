import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeResult, hasStack, REPO_ROOT, runCli } from './test-support/cli.js';

const COMMANDS = ['ls', 'show', 'export', 'copy', 'verify'];

describe('swanlog usage', () => {
  test('--help on the program and on every command exits 0 and prints its usage', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0, describeResult(top));
    assert.match(top.stdout, /^Usage: swanlog /m);
    for (const command of COMMANDS) assert.match(top.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);

    const results = await Promise.all(COMMANDS.map((command) => runCli([command, '--help'])));
    results.forEach((r, i) => {
      const command = COMMANDS[i]!;
      assert.equal(r.code, 0, `${command} --help: ${describeResult(r)}`);
      assert.match(r.stdout, new RegExp(`^Usage: swanlog ${command}\\b`, 'm'), command);
      assert.match(r.stdout, /--help/, command);
      assert.equal(r.stderr, '', command);
    });
    const help = await runCli(['help', 'export']);
    assert.equal(help.code, 0, describeResult(help));
    assert.match(help.stdout, /^Usage: swanlog export .*\n[\s\S]*--format/m);
  });

  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, describeResult(r));
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', 'cli', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(r.stdout.trim(), version);
  });

  test('usage errors exit 2 with a message on stderr: unknown command, missing argument, unknown option', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['show'], /missing required argument 'run'/],
      [['export'], /missing required argument 'run'/],
      [['copy'], /missing required argument 'run'/],
      [['verify'], /missing required argument 'run_dir'/],
      [['ls', '--bogus'], /unknown option '--bogus'/],
      [['export', 'x', '--format'], /option '--format <format>' argument missing/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      assert.equal(r.code, 2, `swanlog ${args.join(' ')}: ${describeResult(r)}`);
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.ok(!hasStack(r.stderr), r.stderr);
    });
  });

  test('no command prints the usage and exits non-zero without a stack', async () => {
    const r = await runCli([]);
    assert.notEqual(r.code, 0, describeResult(r));
    assert.match(r.stdout + r.stderr, /Usage: swanlog /);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });
});
