// examples/two-vms-udp-tunnel.sh, run as a user would: two tsvmm
// processes, the kit's Linux in each, a UDP tunnel between them, a ping
// through the console, both shut down. Only the commands are pointed at
// this checkout.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freeUdpPorts } from '../helpers/net.js';
import { guestKit, skipWithoutKvm } from '../helpers/tsvmm.js';
import { scaled } from '../helpers/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('the two-VM UDP tunnel example boots both, pings, and tears down', async (t) => {
    const kit = guestKit();
    const [portA, portB] = await freeUdpPorts(2);
    const child = spawn('bash', [join(ROOT, 'examples/two-vms-udp-tunnel.sh')], {
      env: {
        ...process.env,
        KERNEL: kit.vmlinux,
        INITRAMFS: kit.initramfs,
        TSVMM: `${process.execPath} ${join(ROOT, 'dist/bundle/tsvmm.js')}`,
        TSVMM_REMOTE: `${process.execPath} ${join(ROOT, 'dist/bundle/tsvmm-remote.js')}`,
        PORT_A: String(portA),
        PORT_B: String(portB),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGTERM'), scaled(1_200_000));
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    t.equal(code, 0, `the script succeeds (stderr: ${stderr.slice(-600)})`);
    t.match(stdout, /VM a booted: \{.*"event":"booted"/, 'it saw A boot through its events');
    t.match(stdout, /VM b booted/);
    t.match(stdout, /A pinged B through the UDP tunnel: 3 packets transmitted, 3 packets received/);
    t.match(stdout, /"tunnel": \{[^}]*"tx_frames": [1-9]/, 'A\'s counters show frames sent on the tunnel');
    t.match(stdout, /both VMs shut down[^]*"event":"shutdown"/, 'and its event log ends with the shutdown');
  });
}
