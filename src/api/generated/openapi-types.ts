// Generated from openapi/tsvmm.json by `npm run generate`; do not edit.
export interface paths {
    "/vmm.ping": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Ping the VMM */
        get: operations["vmm.ping"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vmm.shutdown": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Shut the VM down (if any) and end the VMM process */
        put: operations["vmm.shutdown"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Create the VM from a configuration; it is not booted */
        put: operations["vm.create"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.boot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Boot the created VM */
        put: operations["vm.boot"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.shutdown": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Stop the VM; the VMM stays up */
        put: operations["vm.shutdown"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.reboot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Reset the VM and boot it again */
        put: operations["vm.reboot"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Stop every vCPU */
        put: operations["vm.pause"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Restart the vCPUs of a paused VM */
        put: operations["vm.resume"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.delete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Stop the VM if needed and forget it; succeeds when there is none */
        put: operations["vm.delete"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.power-button": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Press the ACPI power button */
        put: operations["vm.power-button"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.nmi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Inject an NMI into every vCPU */
        put: operations["vm.nmi"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.add-disk": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Add a disk to a VM that is not running (hotplug is not supported yet) */
        put: operations["vm.add-disk"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.add-net": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Add a network device to a VM that is not running (hotplug is not supported yet) */
        put: operations["vm.add-net"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.add-vsock": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Add the vsock device to a VM that is not running (one per VM; hotplug is not supported yet) */
        put: operations["vm.add-vsock"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.snapshot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Write a snapshot of the paused VM into a directory (file:///DIR) */
        put: operations["vm.snapshot"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Start the VM of a snapshot in this VMM, which must have none; it is Paused unless resume is true */
        put: operations["vm.restore"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.send-migration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Start migrating the VM to a tsvmm waiting in vm.receive-migration (unix:/PATH or tcp:HOST:PORT); the outcome comes as events */
        put: operations["vm.send-migration"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.receive-migration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Wait for one migration on receiver_url; replies once the VM runs here (this VMM must have no VM) */
        put: operations["vm.receive-migration"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.info": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The VM configuration and state */
        get: operations["vm.info"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vm.counters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Counters per device */
        get: operations["vm.counters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vmm.events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Follow the events as they happen: one EventRecord per line, until the VMM shuts down */
        get: operations["vmm.events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description Virtual machine monitor information */
        VmmPingResponse: {
            build_version: string;
            version: string;
            pid: number;
            features: string[];
        };
        /** @enum {string} */
        VmState: "Created" | "Running" | "Shutdown" | "Paused";
        /** @description Virtual machine information */
        VmInfo: {
            config: components["schemas"]["VmConfig"];
            state: components["schemas"]["VmState"];
            memory_actual_size: number;
        };
        /** @description Counters per device id */
        VmCounters: {
            [key: string]: {
                [key: string]: number;
            };
        };
        /** @description Virtual machine configuration: Cloud Hypervisor v53.0's VmConfig */
        VmConfig: {
            payload: components["schemas"]["PayloadConfig"];
            /**
             * @default {
             *       "boot_vcpus": 1,
             *       "max_vcpus": 1
             *     }
             */
            cpus?: components["schemas"]["CpusConfig"];
            /**
             * @default {
             *       "size": 536870912
             *     }
             */
            memory?: components["schemas"]["MemoryConfig"];
            /**
             * @default {
             *       "mode": "Null"
             *     }
             */
            serial?: components["schemas"]["SerialConfig"];
            /**
             * @default {
             *       "mode": "Tty"
             *     }
             */
            console?: components["schemas"]["ConsoleConfig"];
            /**
             * @default {
             *       "mode": "Off"
             *     }
             */
            debug_console?: components["schemas"]["DebugConsoleConfig"];
            /**
             * @default {
             *       "src": "/dev/urandom"
             *     }
             */
            rng?: components["schemas"]["RngConfig"];
            disks?: components["schemas"]["DiskConfig"][];
            net?: components["schemas"]["NetConfig"][];
            /**
             * @description The pvpanic device (QEMU0001, port 0x505)
             * @default false
             */
            pvpanic?: boolean;
            /** @default false */
            watchdog?: boolean;
            /** @default false */
            iommu?: boolean;
            /** @default false */
            landlock_enable?: boolean;
            /** @default false */
            gdb?: boolean;
            platform?: components["schemas"]["PlatformConfig"];
            rate_limit_groups?: unknown[];
            balloon?: Record<string, never>;
            fs?: unknown[];
            generic_vhost_user?: unknown[];
            "generic-vhost-user"?: unknown[];
            pmem?: unknown[];
            devices?: unknown[];
            user_devices?: unknown[];
            vdpa?: unknown[];
            vsock?: components["schemas"]["VsockConfig"];
            numa?: unknown[];
            rtc?: Record<string, never>;
            pci_segments?: unknown[];
            tpm?: Record<string, never>;
            landlock_rules?: unknown[];
            ivshmem?: Record<string, never>;
            pvmemcontrol?: Record<string, never>;
        };
        /** @description What the guest boots */
        PayloadConfig: {
            /** @description ELF vmlinux with a PVH note, or bzImage */
            kernel?: string;
            initramfs?: string;
            cmdline?: string;
            firmware?: string;
            igvm?: string;
            host_data?: string;
            fw_cfg_config?: Record<string, never>;
        };
        CpusConfig: {
            boot_vcpus: number;
            max_vcpus: number;
            topology?: components["schemas"]["CpuTopology"];
            /** @default false */
            kvm_hyperv?: boolean;
            /** @default 46 */
            max_phys_bits?: number;
            affinity?: unknown[];
            /**
             * @default {
             *       "amx": false
             *     }
             */
            features?: {
                /** @default false */
                amx?: boolean;
            };
            /**
             * @description false hides the host CPU's SVM/VMX from the guest
             * @default true
             */
            nested?: boolean;
            /**
             * @default Vm
             * @enum {string}
             */
            core_scheduling?: "Vm" | "Vcpu" | "Off";
            /**
             * @default Host
             * @constant
             */
            profile?: "Host";
        };
        CpuTopology: {
            threads_per_core: number;
            cores_per_die: number;
            dies_per_package: number;
            packages: number;
        };
        MemoryConfig: {
            /** @description Bytes, a multiple of 4096 */
            size: number;
            /** @default false */
            mergeable?: boolean;
            /**
             * @default Acpi
             * @enum {string}
             */
            hotplug_method?: "Acpi" | "VirtioMem";
            hotplug_size?: number;
            hotplugged_size?: number;
            /** @default false */
            shared?: boolean;
            /** @default false */
            hugepages?: boolean;
            hugepage_size?: number;
            /** @default false */
            prefault?: boolean;
            /** @default false */
            reserve?: boolean;
            zones?: unknown[];
            /** @default true */
            thp?: boolean;
        };
        /** @description The 16550 UART (COM1) */
        SerialConfig: {
            /**
             * @description Tcp is tsvmm's own
             * @enum {string}
             */
            mode: "Off" | "Null" | "Tty" | "File" | "Pty" | "Socket" | "Tcp";
            /** @description File mode: the output file. Pty mode, in vm.info: the pty path */
            file?: string;
            /** @description Socket mode: the UNIX socket clients attach to */
            socket?: string;
            /** @description Tcp mode (tsvmm only): [HOST:]PORT, loopback by default; port 0 picks one (vm.info shows it) */
            tcp?: string;
        };
        /** @description The virtio console (hvc0) */
        ConsoleConfig: {
            /**
             * @description Tcp is tsvmm's own
             * @enum {string}
             */
            mode: "Off" | "Null" | "Tty" | "File" | "Pty" | "Socket" | "Tcp";
            /** @description File mode: the output file. Pty mode, in vm.info: the pty path */
            file?: string;
            /** @description Socket mode: the UNIX socket clients attach to */
            socket?: string;
            /** @description Tcp mode (tsvmm only): [HOST:]PORT, loopback by default; port 0 picks one (vm.info shows it) */
            tcp?: string;
            /** @default false */
            iommu?: boolean;
            /** @default 0 */
            pci_segment?: number;
            pci_device_id?: number;
            /** @description Unique among the devices; tsvmm fills in _disk<N>, _net<N> */
            id?: string;
        };
        DebugConsoleConfig: {
            /**
             * @default Off
             * @enum {string}
             */
            mode?: "Off" | "Null" | "Tty" | "File" | "Pty" | "Socket" | "Tcp";
            file?: string;
            /** @default 233 */
            iobase?: number;
        };
        RngConfig: {
            /** @description Host file read for entropy, e.g. /dev/urandom */
            src: string;
            /** @default false */
            iommu?: boolean;
            /** @default 0 */
            pci_segment?: number;
            pci_device_id?: number;
            /** @description Unique among the devices; tsvmm fills in _disk<N>, _net<N> */
            id?: string;
        };
        DiskConfig: {
            /** @description A raw image */
            path: string;
            /** @default false */
            readonly?: boolean;
            /**
             * @description O_DIRECT
             * @default false
             */
            direct?: boolean;
            /** @description Unique among the devices; tsvmm fills in _disk<N>, _net<N> */
            id?: string;
            /** @description What VIRTIO_BLK_T_GET_ID answers (20 bytes at most); the id when absent */
            serial?: string;
            /** @default 1 */
            num_queues?: number;
            /**
             * @description A power of two
             * @default 128
             */
            queue_size?: number;
            /** @default false */
            vhost_user?: boolean;
            vhost_socket?: string;
            rate_limit_group?: string;
            rate_limiter_config?: Record<string, never>;
            queue_affinity?: unknown[];
            /** @default false */
            backing_files?: boolean;
            /** @default true */
            sparse?: boolean;
            /**
             * @description Raw, or Unknown (probed: tsvmm knows raw only)
             * @default Unknown
             * @enum {string}
             */
            image_type?: "FixedVhd" | "Qcow2" | "Raw" | "Vhdx" | "Unknown";
            /**
             * @default ByteRange
             * @enum {string}
             */
            lock_granularity?: "ByteRange" | "Full";
            /** @default false */
            disable_io_uring?: boolean;
            /** @default false */
            disable_aio?: boolean;
            /** @default false */
            iommu?: boolean;
            /** @default 0 */
            pci_segment?: number;
            pci_device_id?: number;
        };
        NetConfig: {
            /** @description TAP interface; created when empty or absent (and remote is not set) */
            tap?: string;
            /** @description IPv4 address given to the TAP interface on the host */
            ip?: string;
            /** @description IPv4 netmask of the TAP interface */
            mask?: string;
            /** @description The guest's MAC; random when absent */
            mac?: string;
            /** @description Unique among the devices; tsvmm fills in _disk<N>, _net<N> */
            id?: string;
            /** @description Offered to the guest (VIRTIO_NET_F_MTU) */
            mtu?: number;
            /** @description tsvmm only. UDP tunnel: HOST:PORT bound; port 0 picks one (vm.info shows it) */
            local?: string;
            /** @description tsvmm only. UDP tunnel: HOST:PORT frames go to; selects the UDP backend */
            remote?: string;
            host_mac?: string;
            /** @default 2 */
            num_queues?: number;
            /**
             * @description A power of two
             * @default 256
             */
            queue_size?: number;
            /** @default false */
            vhost_user?: boolean;
            vhost_socket?: string;
            /**
             * @default Client
             * @enum {string}
             */
            vhost_mode?: "Client" | "Server";
            fds?: unknown[];
            rate_limiter_config?: Record<string, never>;
            /** @default true */
            offload_tso?: boolean;
            /** @default true */
            offload_ufo?: boolean;
            /** @default true */
            offload_csum?: boolean;
            /** @default false */
            iommu?: boolean;
            /** @default 0 */
            pci_segment?: number;
            pci_device_id?: number;
        };
        /** @description virtio-vsock, bridged to UNIX sockets (hybrid vsock) */
        VsockConfig: {
            /** @description The guest's context id (0-2 and 2^32-1 are reserved) */
            cid: number;
            /** @description UNIX socket tsvmm listens on for CONNECT <port>; guest connections to host port P go to <socket>_P */
            socket: string;
            /** @default false */
            iommu?: boolean;
            /** @default 0 */
            pci_segment?: number;
            pci_device_id?: number;
            /** @description Unique among the devices; tsvmm fills in _disk<N>, _net<N> */
            id?: string;
        };
        PlatformConfig: {
            /** @default 1 */
            num_pci_segments?: number;
            iommu_segments?: unknown[];
            /** @default 64 */
            iommu_address_width_bits?: number;
            system_serial_number?: string;
            serial_number?: string;
            system_uuid?: string;
            uuid?: string;
            oem_strings?: unknown[];
            system_manufacturer?: string;
            system_product_name?: string;
            system_version?: string;
            system_family?: string;
            system_sku_number?: string;
            chassis_asset_tag?: string;
            /** @default false */
            tdx?: boolean;
            /** @default false */
            sev_snp?: boolean;
            /** @default false */
            iommufd?: boolean;
            iommufd_fd?: number;
            /** @default true */
            vfio_p2p_dma?: boolean;
        };
        VmSnapshotConfig: {
            /** @description file:///DIR: the directory the snapshot is written into (made if missing; it must hold no snapshot) */
            destination_url: string;
        };
        NetworkOverride: {
            /** @description The NIC's id in the VM's config (vm.info shows it, as _net0 when none was given) */
            id: string;
            /** @description TAP interface; created when empty or absent (and remote is not set) */
            tap?: string;
            /** @description IPv4 address given to the TAP interface on the host */
            ip?: string;
            /** @description IPv4 netmask of the TAP interface */
            mask?: string;
            /** @description tsvmm only. UDP tunnel: HOST:PORT bound; port 0 picks one (vm.info shows it) */
            local?: string;
            /** @description tsvmm only. UDP tunnel: HOST:PORT frames go to; selects the UDP backend */
            remote?: string;
        };
        RestoreConfig: {
            /** @description file:///DIR: a directory vm.snapshot wrote */
            source_url: string;
            /**
             * @description With OnDemand, read every saved page in before the VM is ready
             * @default false
             */
            prefault?: boolean;
            /**
             * @description Copy reads guest memory from the snapshot before the VM is ready; OnDemand maps the snapshot copy-on-write, so pages are read when the guest first touches them
             * @default Copy
             * @enum {string}
             */
            memory_restore_mode?: "Copy" | "OnDemand";
            /**
             * @description Resume the VM once restored instead of leaving it Paused
             * @default false
             */
            resume?: boolean;
            /** @description tsvmm only: new backends (TAP or UDP tunnel addresses) for NICs of the snapshot, by id */
            network_overrides?: components["schemas"]["NetworkOverride"][];
            net_fds?: unknown[];
            vfio_fds?: unknown[];
            iommufd_fd?: number;
            zone_updates?: unknown[];
        };
        VmSendMigrationConfig: {
            /** @description unix:/PATH or tcp:HOST:PORT, where a tsvmm waits in vm.receive-migration */
            destination_url: string;
            /**
             * @description Only false: tsvmm always sends guest memory over the connection
             * @default false
             */
            local?: boolean;
            /**
             * @description Keep the source VM, Paused, once the destination runs it (instead of shutting it down)
             * @default false
             */
            preserve_source?: boolean;
            /**
             * @description The pause the final round aims for: rounds of dirty pages go on until the rest takes this long to send
             * @default 300
             */
            downtime_ms?: number;
            /**
             * @description How long the rounds may take in all before timeout_strategy applies
             * @default 3600
             */
            timeout_s?: number;
            /**
             * @description At the timeout, Cancel ends the migration and the VM runs on at the source; Ignore pauses it and sends the rest whatever the downtime
             * @default Cancel
             * @enum {string}
             */
            timeout_strategy?: "Cancel" | "Ignore";
            /**
             * @description Only 1: tsvmm migrates over one connection
             * @default 1
             */
            connections?: number;
            /**
             * @description Only Precopy
             * @default Precopy
             * @constant
             */
            memory_mode?: "Precopy";
            tls_dir?: string;
        };
        VmReceiveMigrationConfig: {
            /** @description unix:/PATH or tcp:HOST:PORT to listen on for the one sender */
            receiver_url: string;
            /**
             * @description Only Precopy
             * @default Precopy
             * @constant
             */
            memory_mode?: "Precopy";
            /** @description tsvmm only: new backends for the incoming VM's NICs, by id (as vm.restore's), e.g. to migrate on one host */
            network_overrides?: components["schemas"]["NetworkOverride"][];
            tls_dir?: string;
            vfio_fds?: unknown[];
            iommufd_fd?: number;
            zone_updates?: unknown[];
        };
        /** @description One event, as one line of the event-monitor file and of GET /vmm.events */
        EventRecord: {
            /** @description Time since the VMM started */
            timestamp: {
                secs: number;
                nanos: number;
            };
            /** @enum {string} */
            source: "vmm" | "vm" | "virtio-device" | "guest";
            /** @description vmm: starting, shutdown, error (the last line of a stream that is dropped); vm: booting, booted, pausing, paused, resuming, resumed, rebooting, rebooted, shutdown, deleted; virtio-device: activated, reset; guest: panic */
            event: string;
            properties: {
                [key: string]: string;
            } | null;
        };
        /** @description Every error response */
        Error: {
            status: number;
            /**
             * @description A stable name of the error class; clients branch on it, never on the message
             * @enum {string}
             */
            code: "InvalidConfig" | "InvalidBody" | "UnsupportedField" | "DuplicateDeviceId" | "DeviceLimit" | "HostFileRejected" | "ResourceBusy" | "InvalidPayload" | "InvalidSnapshot" | "MigrationFailed" | "VmNotCreated" | "VmAlreadyCreated" | "InvalidState" | "NotSupported" | "NoSuchEndpoint" | "MethodNotAllowed" | "BodyTooLarge" | "ExpectationFailed" | "HostUnavailable" | "InternalError";
            message: string;
            causes: string[];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    "vmm.ping": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmmPingResponse"];
                };
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vmm.shutdown": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.boot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.shutdown": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.reboot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.delete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.power-button": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not supported yet */
            501: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.nmi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.add-disk": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DiskConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not supported yet */
            501: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.add-net": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NetConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.add-vsock": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VsockConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.snapshot": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmSnapshotConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RestoreConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.send-migration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmSendMigrationConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.receive-migration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmReceiveMigrationConfig"];
            };
        };
        responses: {
            /** @description Success, no body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.info": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmInfo"];
                };
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vm.counters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Success */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmCounters"];
                };
            };
            /** @description Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Unknown path, or no VM is created */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The VM state forbids this action, or a device id is already in use */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal failure */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "vmm.events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A chunked stream of newline-delimited JSON that stays open. A listener that leaves 256 KiB unread is dropped after a last line with event "error" */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/x-ndjson": components["schemas"]["EventRecord"];
                };
            };
            /** @description Wrong method; the Allow header names the right one */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
