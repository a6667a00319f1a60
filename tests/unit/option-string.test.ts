import t from 'tap';
import { parseCommandLine } from '../../src/cli/args.js';
import { ConfigError } from '../../src/util/errors.js';
import { parseConsole, parseCpus, parseMemory } from '../../src/vm/config.js';
import { parseOptionString, parseSize } from '../../src/vm/option-string.js';

t.test('key=value pairs, quotes and brackets', async (t) => {
  const values = parseOptionString('--x', 'a=1,b="x,y",c=[1,2]', ['a', 'b', 'c']);
  t.same([...values], [['a', '1'], ['b', 'x,y'], ['c', '[1,2]']]);
});

t.test('bad option strings name what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty option string/],
    ['boot', /expected key=value, got "boot"/],
    ['bogus=1', /unknown key "bogus"/],
    ['boot=1,boot=2', /given twice/],
    ['boot="1', /unterminated quote/],
    ['boot=[1', /unbalanced '\['/],
  ];
  for (const [input, message] of cases) {
    t.throws(() => parseOptionString('--cpus', input, ['boot']), { name: 'ConfigError', message }, input);
  }
});

t.test('sizes', async (t) => {
  t.equal(parseSize('--memory', 'size', '512M'), 512 * 2 ** 20);
  t.equal(parseSize('--memory', 'size', '1g'), 2 ** 30);
  t.equal(parseSize('--memory', 'size', '4096'), 4096);
  t.equal(parseSize('--memory', 'size', '2K'), 2048);
  t.throws(() => parseSize('--memory', 'size', '12X'), /size="12X" is not a size/);
  t.throws(() => parseSize('--memory', 'size', '-1M'), /not a size/);
  t.throws(() => parseSize('--memory', 'size', '99999999999T'), /too large/);
});

t.test('--cpus', async (t) => {
  t.same(parseCpus('boot=2'), { boot_vcpus: 2, max_vcpus: 2 });
  t.same(parseCpus('boot=2,max=4'), { boot_vcpus: 2, max_vcpus: 4 });
  t.throws(() => parseCpus('boot=0'), /boot=0 is out of range/);
  t.throws(() => parseCpus('boot=two'), /boot="two" is not a whole number/);
  t.throws(() => parseCpus('boot=1.5'), /not a whole number/);
});

t.test('--memory', async (t) => {
  t.same(parseMemory('size=256M'), { size: 256 * 2 ** 20 });
  t.throws(() => parseMemory('shared=on'), /unknown key "shared"/);
});

t.test('--serial and --console modes', async (t) => {
  t.same(parseConsole('--serial', 'tty'), { mode: 'Tty' });
  t.same(parseConsole('--serial', 'off'), { mode: 'Off' });
  t.same(parseConsole('--serial', 'null'), { mode: 'Null' });
  t.same(parseConsole('--serial', 'file=/tmp/x'), { mode: 'File', file: '/tmp/x' });
  t.same(parseConsole('--serial', 'pty'), { mode: 'Pty' });
  t.same(parseConsole('--serial', 'socket=/run/c.sock'), { mode: 'Socket', socket: '/run/c.sock' });
  t.same(parseConsole('--serial', 'tcp=4555'), { mode: 'Tcp', tcp: '4555' });
  t.same(parseConsole('--serial', 'tcp=0.0.0.0:4555'), { mode: 'Tcp', tcp: '0.0.0.0:4555' });
  t.throws(() => parseConsole('--serial', 'file='), /file= needs a value/);
  t.throws(() => parseConsole('--serial', 'socket='), /socket= needs a value/);
  t.throws(() => parseConsole('--serial', 'tcp=localhost:80'), /does not name an IP address/);
  t.throws(() => parseConsole('--serial', 'tcp=1.2.3.4:99999'), /is not HOST:PORT/);
  t.throws(() => parseConsole('--serial', 'pipe'), /"pipe" is not one of/);
  t.throws(() => parseConsole('--serial', 'pty=x'), /"pty=x" is not one of/);
});

t.test('the command line becomes a VmConfig', async (t) => {
  const request = parseCommandLine([
    '--kernel', 'k', '--initramfs', 'i', '--cmdline', 'console=ttyS0', '--cpus', 'boot=2',
    '--memory', 'size=256M', '--serial', 'tty', '--console', 'off', '-v', '-v',
  ]);
  t.equal(request.kind, 'run');
  if (request.kind !== 'run') return;
  t.same(request.config, {
    payload: { kernel: 'k', initramfs: 'i', cmdline: 'console=ttyS0', firmware: undefined },
    cpus: { boot_vcpus: 2, max_vcpus: 2 },
    memory: { size: 256 * 2 ** 20 },
    serial: { mode: 'Tty' },
    console: { mode: 'Off' },
  });
  t.equal(request.verbosity, 2);
});

t.test('command line errors', async (t) => {
  t.same(parseCommandLine(['--help']), { kind: 'help' });
  t.same(parseCommandLine(['--version']), { kind: 'version' });
  const bad: Array<[string[], RegExp]> = [
    [[], /give --kernel to boot, or --api-socket/],
    [['--api-socket', '/tmp/x.sock', '--memory', 'size=1G'], /VM options need --kernel/],
    [['--api-socket', 'path=/x,fd=3'], /exactly one of path= or fd=/],
    [['--kernel', 'k', '--bogus'], /Unknown option '--bogus'/],
    [['--kernel', 'k', '--memory', 'size=1M'], /memory.size must be/],
    [['--kernel', 'k', '--cpus', 'boot=2,max=1'], /max_vcpus \(1\) must be between/],
    [['--kernel', 'k', '--console', 'tty'], /serial and console cannot both use the tty/],
    [['--kernel', 'k', '--firmware', 'f'], /firmware is not supported/],
  ];
  for (const [argv, message] of bad) {
    t.throws(() => parseCommandLine(argv), message, argv.join(' '));
    try {
      parseCommandLine(argv);
    } catch (error) {
      t.type(error, ConfigError);
    }
  }
});
