// The x86_64 guest physical memory map shared by Firecracker, Cloud
// Hypervisor and Linux microVM setups (see shared/design.md).

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export const GDT_ADDR = 0x500;
export const IDT_ADDR = 0x520;
export const PVH_INFO_ADDR = 0x6000;
export const ZERO_PAGE_ADDR = 0x7000;
export const BOOT_STACK_TOP = 0x8ff0;
export const PML4_ADDR = 0x9000;
export const PDPT_ADDR = 0xa000;
export const PD_ADDR = 0xb000;
/** PVH memory map entries and the module list live right after the start info. */
export const PVH_MEMMAP_ADDR = 0x6100;
export const PVH_MODLIST_ADDR = 0x6f00;
export const CMDLINE_ADDR = 0x20000;
/** Room for the command line: up to the EBDA. */
export const CMDLINE_MAX = 0x10000;
/** Start of the extended BIOS data area; the MP table lives here. */
export const EBDA_START = 0x9fc00;
export const MPTABLE_ADDR = EBDA_START;
export const RSDP_ADDR = 0xe0000;
export const HIMEM_START = 0x100000;

export const MMIO_GAP_START = 0xc000_0000;
export const MMIO_GAP_END = 0x1_0000_0000;
export const IOAPIC_ADDR = 0xfec0_0000;
export const LAPIC_ADDR = 0xfee0_0000;
export const KVM_TSS_ADDR = 0xfffb_d000;
export const KVM_IDENTITY_MAP_ADDR = 0xfffb_c000;

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const I8042_IRQ = 1;
/** SLP_TYP for S5 (soft off): \_S5 in the DSDT names it, and the ACPI sleep control register powers off on it. */
export const S5_SLEEP_TYPE = 5;
/** The ACPI Generic Event Device's interrupt: the last IOAPIC pin. */
export const GED_GSI = 23;
