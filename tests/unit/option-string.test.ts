import t from 'tap';
import { parseCommandLine } from '../../src/cli/args.js';
import { acceptBody } from '../../src/config/accept.js';
import { withDeviceChoices } from '../../src/config/devices.js';
import { parseOptionString, parseSize } from '../../src/config/option-string.js';
import { parseConsole, parseCpus, parseMemory, parseSerial } from '../../src/config/options.js';
import { validateVmConfig } from '../../src/config/rules.js';
import { VmConfigSchema, type VmConfig } from '../../src/config/schema.js';

t.test('key=value pairs, quotes and brackets', async (t) => {
  const values = parseOptionString('--x', 'a=1,b="x,y",c=[1,2]', ['a', 'b', 'c']);
  t.same([...values], [['a', '1'], ['b', 'x,y'], ['c', '[1,2]']]);
});

t.test("Cloud Hypervisor's grammar: a later key wins, an empty value is unset, bare words where allowed", async (t) => {
  t.same([...parseOptionString('--x', 'a=1,a=2', ['a'])], [['a', '2']]);
  t.same([...parseOptionString('--x', 'a=1,a=', ['a'])], []);
  t.same([...parseOptionString('--x', ' a=1 ', ['a'])], [['a', '1']]);
  t.same([...parseOptionString('--x', '', ['a'])], []);
  t.same([...parseOptionString('--x', 'tty,a=1', ['a'], ['tty'])], [['tty', ''], ['a', '1']]);
});

t.test('bad option strings name what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['boot', /expected key=value, got "boot"/],
    ['bogus=1', /unknown key "bogus"/],
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
  t.same(parseCpus('boot=1,nested=off,kvm_hyperv=off,max_phys_bits=46,features=amx'),
    { boot_vcpus: 1, max_vcpus: 1, nested: false, kvm_hyperv: false, max_phys_bits: 46, features: { amx: true } });
  t.throws(() => parseCpus('boot=two'), /boot="two" is not a whole number/);
  t.throws(() => parseCpus('boot=1.5'), /not a whole number/);
  t.throws(() => parseCpus('boot=2,topology=1:2:1:1'), /--cpus: topology=1:2:1:1 is not supported by tsvmm/);
});

t.test('--memory', async (t) => {
  t.same(parseMemory('size=256M'), { size: 256 * 2 ** 20 });
  t.same(parseMemory('size=1G,shared=on,hotplug_method=virtio-mem'), { size: 2 ** 30, shared: true, hotplug_method: 'VirtioMem' });
  t.throws(() => parseMemory('size=1G,balloon=on'), /unknown key "balloon"/);
});

t.test('--serial and --console modes', async (t) => {
  t.same(parseSerial('tty'), { mode: 'Tty' });
  t.same(parseSerial('off'), { mode: 'Off' });
  t.same(parseSerial('null'), { mode: 'Null' });
  t.same(parseSerial('file=/tmp/x'), { mode: 'File', file: '/tmp/x' });
  t.same(parseSerial('pty'), { mode: 'Pty' });
  t.same(parseSerial('socket=/run/c.sock'), { mode: 'Socket', socket: '/run/c.sock' });
  t.same(parseSerial('tcp=4555'), { mode: 'Tcp', tcp: '4555' });
  t.same(parseSerial('tcp=0.0.0.0:4555'), { mode: 'Tcp', tcp: '0.0.0.0:4555' });
  t.same(parseConsole('pty,iommu=off,id=con0'), { mode: 'Pty', iommu: false, id: 'con0' });
  t.throws(() => parseSerial('file='), /must give one of off, null/);
  t.throws(() => parseSerial('tty,file=/x'), /must give one of/);
  t.throws(() => parseSerial('pipe'), /unknown key "pipe"/);
  t.throws(() => parseSerial('iommu=on'), /unknown key "iommu"/);
});

/** What vm.create does with a command line's body before it opens any file. */
function createdConfig(argv: string[]): VmConfig {
  const request = parseCommandLine(argv);
  if (request.kind !== 'run' || !request.config) throw new Error('no VM on this command line');
  const config = withDeviceChoices(acceptBody<VmConfig>('vm.create', VmConfigSchema, request.config));
  validateVmConfig(config);
  return config;
}

t.test('the command line becomes a vm.create body', async (t) => {
  const request = parseCommandLine([
    '--kernel', 'k', '--initramfs', 'i', '--cmdline', 'console=ttyS0', '--cpus', 'boot=2',
    '--memory', 'size=256M', '--serial', 'tty', '--console', 'off', '-v', '-v', '--seccomp', 'false',
  ]);
  t.equal(request.kind, 'run');
  if (request.kind !== 'run') return;
  t.same(request.config, {
    payload: { kernel: 'k', initramfs: 'i', cmdline: 'console=ttyS0' },
    cpus: { boot_vcpus: 2, max_vcpus: 2 },
    memory: { size: 256 * 2 ** 20 },
    serial: { mode: 'Tty' },
    console: { mode: 'Off' },
  });
  t.equal(request.verbosity, 2);
  const defaults = createdConfig(['--kernel', 'k']);
  t.match(defaults, { serial: { mode: 'Null' }, console: { mode: 'Tty' }, rng: { src: '/dev/urandom' }, pvpanic: false },
    "Cloud Hypervisor's defaults: --serial null --console tty, an rng");
});

t.test("Cloud Hypervisor's command lines: several values after one flag, --pvpanic, defaults spelled out", async (t) => {
  const config = createdConfig([
    '--kernel', 'k', '--disk', 'path=/a.img', 'path=/b.img,readonly=on,num_queues=1,queue_size=128,image_type=raw',
    '--net', 'tap=,mac=,ip=,mask=', 'tap=tap3,num_queues=2,queue_size=256,offload_tso=on', '--disk', 'path=/c.img',
    '--pvpanic', '--cpus', 'boot=1,nested=on,core_scheduling=vm', '--memory', 'size=64M,thp=on,mergeable=off',
    '--rng', 'src=/dev/urandom,iommu=off', '--debug-console', 'off,iobase=0xe9', '--platform', 'num_pci_segments=1',
  ]);
  t.same(config.disks?.map((disk) => [disk.path, disk.id, disk.readonly]),
    [['/a.img', '_disk0', false], ['/b.img', '_disk1', true], ['/c.img', '_disk2', false]]);
  t.same(config.net?.map((nic) => [nic.tap, nic.id, nic.queue_size]), [[undefined, '_net0', 256], ['tap3', '_net1', 256]]);
  t.match(config.net?.[0]?.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'an empty mac= is unset, so one is chosen');
  t.equal(config.pvpanic, true);
  t.same(config.rng, { src: '/dev/urandom', iommu: false, pci_segment: 0 });
});

t.test("the command lines of Cloud Hypervisor's README, with our own paths", async (t) => {
  const common = ['--disk', 'path=/images/root.raw', 'path=/images/seed.img', '--cpus', 'boot=4', '--memory', 'size=1024M',
    '--net', 'tap=,mac=,ip=,mask='];
  const direct = createdConfig(['--kernel', '/boot/vmlinux', ...common, '--cmdline', 'console=hvc0 root=/dev/vda1 rw']);
  t.match(direct, { cpus: { boot_vcpus: 4 }, memory: { size: 2 ** 30 }, serial: { mode: 'Null' }, console: { mode: 'Tty' } });
  t.same(direct.disks?.map((disk) => disk.path), ['/images/root.raw', '/images/seed.img']);
  t.equal(direct.net?.length, 1);
  const serial = createdConfig(['--kernel', '/boot/vmlinux', '--console', 'off', '--serial', 'tty', ...common.slice(0, 3),
    '--cmdline', 'console=ttyS0 root=/dev/vda1 rw', ...common.slice(3)]);
  t.match(serial, { serial: { mode: 'Tty' }, console: { mode: 'Off' }, disks: [{ path: '/images/root.raw' }] });
  t.throws(() => parseCommandLine(['--firmware', './hypervisor-fw', ...common]), /--firmware is not supported by tsvmm/);
});

t.test("what tsvmm does not do is refused, naming the option or the field", async (t) => {
  const bad: Array<[string[], RegExp]> = [
    [['--kernel', 'k', '--fs', 'tag=x,socket=/s'], /--fs is not supported by tsvmm/],
    [['--kernel', 'k', '--watchdog'], /--watchdog is not supported by tsvmm/],
    [['--kernel', 'k', '--firmware', 'f'], /--firmware is not supported by tsvmm/],
    [['--kernel', 'k', '--disk', 'path=/a,num_queues=4'], /disks\[0\]\.num_queues: 4 is not supported by tsvmm \(only 1\)/],
    [['--kernel', 'k', '--disk', 'path=/a,vhost_user=on'], /disks\[0\]\.vhost_user: true is not supported by tsvmm/],
    [['--kernel', 'k', '--disk', 'path=/a,image_type=qcow2'], /disks\[0\]\.image_type: "Qcow2" is not supported by tsvmm/],
    [['--kernel', 'k', '--disk', 'path=/a,bw_size=1000'], /--disk: bw_size=1000 is not supported by tsvmm/],
    [['--kernel', 'k', '--net', 'tap=t,num_queues=4'], /net\[0\]\.num_queues: 4 is not supported by tsvmm \(only 2\)/],
    [['--kernel', 'k', '--memory', 'size=1G,hugepages=on'], /memory\.hugepages: true is not supported by tsvmm/],
    [['--kernel', 'k', '--cpus', 'boot=2,kvm_hyperv=on'], /cpus\.kvm_hyperv: true is not supported by tsvmm/],
    [['--kernel', 'k', '--platform', 'serial_number=x'], /platform\.system_serial_number: "x" is not supported by tsvmm/],
  ];
  for (const [argv, message] of bad) t.throws(() => createdConfig(argv), { name: 'ConfigError', message }, argv.join(' '));
});

t.test('command line errors', async (t) => {
  t.same(parseCommandLine(['--help']), { kind: 'help' });
  t.same(parseCommandLine(['--version']), { kind: 'version' });
  const bad: Array<[string[], RegExp]> = [
    [[], /give --kernel to boot, or --api-socket/],
    [['--api-socket', '/tmp/x.sock', '--memory', 'size=1G'], /VM options need --kernel/],
    [['--api-socket', 'path=/x,fd=3'], /exactly one of path= or fd=/],
    [['--kernel', 'k', '--bogus'], /unknown option --bogus/],
    [['--kernel', 'k', '--kernel', 'j'], /--kernel was given more than once/],
    [['--kernel', 'k', '--seccomp', 'maybe'], /--seccomp: "maybe" is not one of true, false, log, errno/],
    [['--kernel'], /--kernel needs a value/],
    [['--kernel', 'k', '--disk'], /--disk needs a value/],
    [['--kernel', 'k', 'stray'], /unexpected argument "stray"/],
  ];
  for (const [argv, message] of bad) t.throws(() => parseCommandLine(argv), { name: 'ConfigError', message }, argv.join(' '));
  const invalid: Array<[string[], RegExp]> = [
    [['--kernel', 'k', '--memory', 'size=1M'], /memory\.size: Expected integer to be greater or equal to/],
    [['--kernel', 'k', '--cpus', 'boot=2,max=1'], /max_vcpus \(1\) must not be below boot_vcpus/],
    [['--kernel', 'k', '--cpus', 'boot=1,max=2'], /max_vcpus: 2 is not supported by tsvmm/],
    [['--kernel', 'k', '--serial', 'socket=/s', '--console', 'socket=/s'], /serial and console cannot share socket/],
  ];
  for (const [argv, message] of invalid) t.throws(() => createdConfig(argv), { name: 'ConfigError', message }, argv.join(' '));
});
