// tsvmm-remote's help text: Cloud Hypervisor's ch-remote commands, plus
// `events` and `console`.
export const REMOTE_USAGE = `Usage: tsvmm-remote --api-socket PATH COMMAND [ARGS]
       tsvmm-remote --dbus-service-name NAME --dbus-object-path PATH
                    [--dbus-system-bus] COMMAND [ARGS]

Drives a running tsvmm through its REST API, or its D-Bus API, as ch-remote
drives Cloud Hypervisor. PATH is the socket given to tsvmm --api-socket
(path=PATH also works); NAME and PATH the ones given to tsvmm's --dbus-*
options (the session bus unless --dbus-system-bus).

Commands:
  ping                     the VMM's version and pid (JSON)
  info                     the VM's configuration and state (JSON)
  counters                 per-device counters (JSON)
  create [FILE|-]          create the VM from a JSON VmConfig in FILE, or stdin
  boot | pause | resume | reboot | shutdown | delete
                           the VM's life cycle
  power-button             press the ACPI power button
  nmi                      inject an NMI into every vCPU
  add-disk OPTIONS         add a disk, OPTIONS as tsvmm --disk (path=F,readonly=on,...)
  add-net OPTIONS          add a NIC, OPTIONS as tsvmm --net (tap=..., remote=HOST:PORT,...)
  add-vsock OPTIONS        add the vsock device, OPTIONS as tsvmm --vsock (cid=N,socket=PATH)
  snapshot URL             write a snapshot of the paused VM to URL (file:///DIR)
  restore OPTIONS          restore a snapshot into a VMM without a VM, OPTIONS as
                           tsvmm --restore (source_url=file:///DIR,resume=on,...);
  receive-migration OPTIONS
                           wait for a migration into this VMM, which has no
                           VM (receiver_url=unix:/PATH or tcp:HOST:PORT);
                           returns once the VM runs here
  send-migration OPTIONS   migrate the VM to a VMM in receive-migration
                           (destination_url=URL[,downtime_ms=N,timeout_s=N,
                           timeout_strategy=cancel|ignore,preserve_source=on]);
                           unlike ch-remote, waits for the outcome: status 0
                           once the destination runs the VM, 1 if it failed
                           (the VM then runs on here)
                           all four show their progress on stderr: a bar on a
                           terminal, a line per step otherwise
  shutdown-vmm             shut the VM down and end tsvmm
  events [--until SOURCE:EVENT] [--timeout SECONDS]
                           print each event as one JSON line as it happens;
                           --until exits 0 after the first matching event
                           (e.g. vm:booted, guest:panic)
  console [serial] [--send TEXT] [--until TEXT] [--timeout SECONDS]
                           attach to the serial console (socket or tcp mode):
                           output goes to stdout, stdin to the guest. Ctrl-]
                           detaches on a terminal; otherwise the end of stdin
                           detaches, unless --until is given. --send writes
                           TEXT (with \\n and \\r escapes) on attach; --until
                           exits 0 once the output, recent output replayed on
                           attach included, contains TEXT.

ch-remote's commands for what tsvmm lacks (resize,
add-fs, add-pmem, add-device, remove-device, coredump, ...)
are refused by name with status 2.

Options:
  -h, --help               print this help and exit
  -V, --version            print the version and exit

Exit status:
  0  done
  1  the server refused the request (its message is printed), or --until
     did not match before --timeout or the end
  2  bad command line
  3  no tsvmm answers on the socket (or owns the D-Bus name)
`;
