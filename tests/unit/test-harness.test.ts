// The pure parts of the test harness: L1's module load order from
// modules.dep, and the counts read from a test file's TAP.
import t from 'tap';
import { moduleLoadOrder } from '../l1/image.js';
import { parseCounts } from '../run-files.js';

const MODULES_DEP = [
  'kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko kernel/drivers/crypto/ccp/ccp.ko',
  'kernel/arch/x86/kvm/kvm.ko: kernel/virt/lib/irqbypass.ko',
  'kernel/virt/lib/irqbypass.ko:',
  'kernel/drivers/crypto/ccp/ccp.ko:',
  'kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko',
  'kernel/net/9p/9pnet.ko:',
  'kernel/fs/netfs/netfs.ko:',
  '',
].join('\n');

t.test('L1 loads every module after the modules it depends on, each once', async (t) => {
  const order = moduleLoadOrder(MODULES_DEP, ['kvm-amd', '9p', 'kvm']);
  t.same(order, [
    'kernel/virt/lib/irqbypass.ko', 'kernel/arch/x86/kvm/kvm.ko', 'kernel/drivers/crypto/ccp/ccp.ko', 'kernel/arch/x86/kvm/kvm-amd.ko',
    'kernel/net/9p/9pnet.ko', 'kernel/fs/netfs/netfs.ko', 'kernel/fs/9p/9p.ko',
  ]);
  t.throws(() => moduleLoadOrder(MODULES_DEP, ['no-such-module']), /no module no-such-module/);
});

t.test('a module built into the kernel is not loaded, compressed or not', async (t) => {
  const dep = MODULES_DEP.replace('9p.ko:', '9p.ko.xz:');
  t.same(moduleLoadOrder(dep, ['9p', 'virtio_pci'], 'kernel/drivers/virtio/virtio_pci.ko\n'),
    ['kernel/net/9p/9pnet.ko', 'kernel/fs/netfs/netfs.ko', 'kernel/fs/9p/9p.ko.xz']);
});

t.test('a test file\'s counts come from its last summary line', async (t) => {
  const tap = [
    '# Subtest: inner',
    '    # { total: 99, pass: 99 }',
    'ok 1 - inner',
    '# { total: 12, pass: 9, fail: 1, skip: 2 }',
    '# time=12ms',
  ].join('\n');
  t.same(parseCounts(tap), { total: 12, pass: 9, fail: 1, skip: 2, todo: 0 });
  t.equal(parseCounts('ok 1 - no summary\n'), null, 'a file that died before its summary has no counts');
});
