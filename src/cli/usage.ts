// `tsvmm --help`: its own module, so that printing it loads nothing else.
export const USAGE = `Usage: tsvmm [OPTIONS]

Boots a Linux kernel in a KVM virtual machine, at once when a payload is
given, and/or serves the REST API (Cloud Hypervisor's /api/v1) on a socket.
Options and option strings are Cloud Hypervisor's (v53.0): comma-separated
key=value pairs, a later key wins, an empty value means unset, and options
marked (repeatable) take several values after one flag (--disk path=A path=B).

API:
  --api-socket path=PATH   serve the REST API on a UNIX socket (mode 0600); also fd=N
  --dbus-service-name NAME serve the API on D-Bus too (Cloud Hypervisor's
                           org.cloudhypervisor.DBusApi1) under this well-known
                           name; needs --dbus-object-path
  --dbus-object-path PATH  the object path the D-Bus interface is served at
  --dbus-system-bus        use the system bus instead of the session bus
                           (DBUS_SESSION_BUS_ADDRESS)

Payload:
  --kernel PATH            ELF vmlinux with a PVH entry note, or a bzImage; boots at once
  --initramfs PATH         initramfs (cpio, optionally compressed) given to the kernel
  --cmdline STRING         kernel command line

Machine:
  --cpus boot=N[,max=N][,nested=on|off]
                           vCPUs at boot (1-254; max must equal boot) [default: boot=1];
                           nested=off hides VMX/SVM from the guest
  --memory size=SIZE       guest RAM, bytes or with K/M/G/T suffix [default: size=512M]
  --platform KEYS          accepted at Cloud Hypervisor's defaults (num_pci_segments=1)

Devices:
  --serial MODE            COM1 16550 UART [default: null]; MODE is one of
                             off          no device
                             null         output discarded
                             tty          tsvmm's stdout, and its stdin as input
                             file=PATH    output written to PATH
                             pty          a pseudo-terminal; its path is logged
                                          and shown in vm.info (serial.file)
                             socket=PATH  a UNIX socket to attach to
                             tcp=[HOST:]PORT  a TCP console (tsvmm only; loopback
                                          unless HOST is given; port 0 picks one)
                           pty, socket and tcp take one client at a time and
                           replay the last 64 KiB of output on attach
  --console MODE[,id=ID]   a virtio console (hvc0 in Linux), the same modes as
                           --serial [default: tty]. Both on tty: output interleaves,
                           input goes to the serial port
  --debug-console off      accepted at its default only (off,iobase=0xe9)
  --rng src=PATH[,id=ID]   the virtio-rng device every VM has reads PATH [default: src=/dev/urandom]
  --disk path=F[,readonly=on|off][,direct=on|off][,id=ID][,serial=S][,queue_size=N]
                           a virtio-blk device over raw image F (repeatable)
  --net [tap=NAME][,ip=IP][,mask=MASK][,mac=MAC][,id=ID][,mtu=N][,queue_size=N]
                           a virtio-net device on a TAP interface, created
                           when NAME is empty or absent (repeatable)
  --net remote=HOST:PORT[,local=HOST:PORT][,mac=MAC][,id=ID]
                           tsvmm only: a virtio-net device on a UDP tunnel, one
                           datagram per frame to remote, received from remote
                           only; local port 0 (the default) picks a free port
  --vsock cid=N,socket=PATH[,id=ID]
                           a virtio-vsock device, guest context id N (3 or more),
                           bridged to UNIX sockets as in Cloud Hypervisor: host
                           programs connect to PATH and write "CONNECT <port>\n";
                           guest connections to the host's port P go to PATH_P
  --pvpanic                a pvpanic device (QEMU0001); a guest panic becomes an event

  Every other key of Cloud Hypervisor's option strings is accepted at its
  default value (num_queues=1, iommu=off, ...) and refused with a message
  naming it otherwise. Cloud Hypervisor options tsvmm does not have
  (--fs, --pmem, --balloon, --device, --numa, --watchdog, ...) are
  refused by name.

Snapshots:
  --restore source_url=file:///DIR[,prefault=on][,memory_restore_mode=copy|ondemand][,resume=on]
                           start the VM of a snapshot (vm.snapshot wrote DIR)
                           instead of booting one; it stays Paused for the API
                           unless resume=on; ondemand maps the memory file
                           copy-on-write instead of reading it;
                           network_overrides=[ID@[local=H:P,remote=H:P],ID@[tap=T]]
                           gives NICs new backends (tsvmm only)

Live migration (through the API, as in Cloud Hypervisor):
  PUT vm.receive-migration {"receiver_url": "unix:/PATH"|"tcp:HOST:PORT"} on a
  VMM without a VM, then PUT vm.send-migration {"destination_url": ...} on the
  source (or tsvmm-remote receive-migration / send-migration): pre-copy with
  KVM's dirty log; the source ends in Shutdown. See the README.

Life cycle:
  A guest that resets (reboot) boots again in the same process. A guest that
  powers off ends tsvmm with status 0, unless the API is served or:
  --no-shutdown            keep running after the guest powers off

Events and logs:
  --event-monitor path=PATH|fd=N
                           write every event (VMM, VM, devices, guest panic)
                           as one JSON line to PATH (truncated) or fd N
  -v, --verbose            more logging (-v info: API requests; -vv debug: start-up steps)
  --log-file PATH          log to PATH (appended) instead of stderr

Other:
  --seccomp true|false|log|errno
                           accepted for Cloud Hypervisor's command lines;
                           tsvmm installs no seccomp filter
  -V, --version            print the version and exit
  -h, --help               print this help and exit

Exit status:
  0  the guest powered off, tsvmm was stopped by SIGINT/SIGTERM, or
     vmm.shutdown was requested (with --api-socket, D-Bus or --no-shutdown,
     a guest that ends leaves tsvmm running until then)
  1  the VM failed (KVM internal error, failed entry...); a triple fault
     resets the VM, as it resets a PC
  2  bad command line or payload (reported before any VM is created),
     or the API socket or D-Bus name is in use
  3  the host cannot run the VM (no /dev/kvm, missing KVM capability),
     or the D-Bus bus cannot be reached
`;
