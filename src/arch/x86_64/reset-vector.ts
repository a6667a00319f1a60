// The real-mode reset vector, F000:FFF0 (physical 0xFFFF0), where a PC's
// firmware restarts the machine. Linux jumps there as its last way to reboot
// (reboot type BOOT_BIOS). A kernel built with EFI support that finds
// hardware-reduced ACPI picks EFI reboot; without EFI runtime services that
// does nothing and the kernel falls back to the BIOS vector, skipping the
// ACPI reset register and the i8042. Debian's stock kernel under tsvmm takes
// this path. tsvmm loads no firmware, so a few bytes at the vector pulse the
// i8042's reset line, which every tsvmm VM has: the machine resets as it
// would through firmware. The vector is outside the e820 map's RAM.
import { I8042_COMMAND_PORT } from './layout.js';

export const RESET_VECTOR_ADDR = 0xffff0;
const I8042_PULSE_RESET = 0xfe;

/** 16-bit code: cli; mov al, 0xfe; out 0x64, al; then hlt forever should the reset not come. */
export function resetVectorCode(): Uint8Array {
  return Uint8Array.of(
    0xfa, // cli
    0xb0, I8042_PULSE_RESET, // mov al, 0xfe
    0xe6, I8042_COMMAND_PORT, // out 0x64, al
    0xf4, // hlt
    0xeb, 0xfd, // jmp back to the hlt
  );
}
