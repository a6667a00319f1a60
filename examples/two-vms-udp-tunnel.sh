#!/usr/bin/env bash
# Two microVMs in two tsvmm processes, linked by a UDP tunnel on loopback
# (no root, no bridge: each Ethernet frame is one datagram). The script
# waits for both VMs to boot by reading their event logs, gives each an
# address and makes A ping B through their serial consoles, then shuts
# both down. Everything goes through tsvmm-remote.
#
#   KERNEL=vmlinux INITRAMFS=initramfs.cpio examples/two-vms-udp-tunnel.sh
#
# The initramfs must give a busybox shell on ttyS0 with `ip` and `ping`
# (the test kit does: `npm run guest` builds it and prints its paths).
# TSVMM and TSVMM_REMOTE name the commands (default: tsvmm, tsvmm-remote);
# PORT_A and PORT_B the UDP ports (default: 40001, 40002); EXTRA_CMDLINE is
# added to the kernel command line.
set -euo pipefail

KERNEL=${KERNEL:?set KERNEL to a kernel (vmlinux with a PVH note, or bzImage)}
INITRAMFS=${INITRAMFS:?set INITRAMFS to an initramfs with a busybox shell}
TSVMM=${TSVMM:-tsvmm}
TSVMM_REMOTE=${TSVMM_REMOTE:-tsvmm-remote}
PORT_A=${PORT_A:-40001}
PORT_B=${PORT_B:-40002}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsvmm-example.XXXXXX")

remote() { # VM COMMAND [ARGS...]
	local vm=$1
	shift
	$TSVMM_REMOTE --api-socket "$WORK/$vm.sock" "$@"
}

cleanup() {
	for vm in a b; do remote "$vm" shutdown-vmm 2>/dev/null || true; done
	wait
	rm -rf "$WORK"
}
trap cleanup EXIT

# start_vm NAME LOCAL_PORT REMOTE_PORT: a tsvmm waiting on its API socket, and
# a VM created in it with a NIC on the tunnel and a console on a UNIX socket.
start_vm() {
	local vm=$1 local_port=$2 remote_port=$3
	$TSVMM --api-socket "path=$WORK/$vm.sock" --event-monitor "path=$WORK/$vm.events" &
	until remote "$vm" ping >/dev/null 2>&1; do sleep 0.1; done
	cat >"$WORK/$vm.json" <<-JSON
	{
	  "payload": { "kernel": "$KERNEL", "initramfs": "$INITRAMFS", "cmdline": "console=ttyS0 $EXTRA_CMDLINE" },
	  "memory": { "size": 268435456 },
	  "serial": { "mode": "Socket", "socket": "$WORK/$vm.console" },
	  "console": { "mode": "Off" },
	  "net": [{ "id": "tunnel", "local": "127.0.0.1:$local_port", "remote": "127.0.0.1:$remote_port" }]
	}
	JSON
	remote "$vm" create "$WORK/$vm.json"
}

# boot_vm NAME: boots, and returns once the VMM's event log (--event-monitor,
# which holds every event since tsvmm started) shows the VM booted. The log,
# not `tsvmm-remote events`: that stream begins when it connects, and a
# follower started just before the boot may connect after it.
boot_vm() {
	local vm=$1 polls=0 booted='"source":"vm","event":"booted"'
	remote "$vm" boot
	until grep -q "$booted" "$WORK/$vm.events"; do
		if ((++polls > BOOT_TIMEOUT * 10)); then
			echo "VM $vm: no booted event in $WORK/$vm.events" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "VM $vm booted: $(grep "$booted" "$WORK/$vm.events" | tail -n 1)"
}

# run_in VM COMMAND MARKER: types COMMAND on the VM's console and waits for
# MARKER in its output. The marker is computed by the guest's shell (the
# command's own echo does not contain it), e.g. "echo UP_$((1+1))" -> UP_2.
run_in() {
	remote "$1" console --send "$2\n" --until "$3" --timeout "$BOOT_TIMEOUT" >>"$WORK/$1.console.log"
}

EXTRA_CMDLINE=${EXTRA_CMDLINE:-}
start_vm a "$PORT_A" "$PORT_B"
start_vm b "$PORT_B" "$PORT_A"
boot_vm a
boot_vm b

# Both guests boot in parallel; a shell prompt on the console means the guest is up.
for vm in a b; do
	remote "$vm" console --until '# ' --timeout "$BOOT_TIMEOUT" >/dev/null
	echo "VM $vm: shell ready"
done
run_in a 'ip addr add 10.0.0.1/24 dev eth0 && ip link set eth0 up && echo UP_$((40+2))' UP_42
run_in b 'ip addr add 10.0.0.2/24 dev eth0 && ip link set eth0 up && echo UP_$((40+2))' UP_42
run_in a 'ping -c 3 -W 5 10.0.0.2; echo PING_DONE_$((6*7))' PING_DONE_42
if grep -q '3 packets received' "$WORK/a.console.log"; then
	echo "A pinged B through the UDP tunnel: $(grep 'packets received' "$WORK/a.console.log" | tail -n 1 | tr -d '\r')"
else
	echo "A could not ping B; A's console:" >&2
	tail -n 20 "$WORK/a.console.log" >&2
	exit 1
fi
remote a counters
for vm in a b; do remote "$vm" shutdown-vmm; done
wait
echo "both VMs shut down; events of A:"
cut -c1-120 "$WORK/a.events"
