/*
 * The test guest's entry. A PVH loader (tsvmm, QEMU -kernel) jumps to
 * pvh_start in 32-bit protected mode, paging off, with %ebx pointing at the
 * hvm_start_info. This turns on long mode with an identity map of the low
 * 4 GiB (2 MiB pages, user-accessible, so CPL3 code reaches RAM and MMIO),
 * loads a GDT with kernel and user segments and a TSS, and calls kernel_main.
 * enter_user() then drops to CPL3 with IOPL 3.
 */
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_USER 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_LARGE 0x80

	.section .note.Xen, "a", @note
	.balign 4
	.long 4                      /* name size: "Xen\0" */
	.long 4                      /* descriptor size */
	.long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	movl %ebx, %edi                          /* hvm_start_info, kept for kernel_main */
	movl $boot_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl $pdpt, %eax
	orl $(PTE_PRESENT | PTE_WRITE | PTE_USER), %eax
	movl %eax, pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $page_directories, %eax
	orl $(PTE_PRESENT | PTE_WRITE | PTE_USER), %eax
	movl %eax, pdpt(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 1b

	/* 2048 entries of 2 MiB; the fourth GiB (MMIO) uncached. */
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_LARGE), %eax
	cmpl $1536, %ecx
	jb 3f
	orl $(PTE_PCD | PTE_PWT), %eax
3:	movl %eax, page_directories(, %ecx, 8)
	movl %ecx, %edx
	shrl $11, %edx                           /* bits 32+ of the address: 0 below 4 GiB */
	movl %edx, page_directories + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	movl %cr4, %eax
	orl $0x620, %eax                         /* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx                   /* EFER: long mode enable */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax                    /* PG, WP, PE */
	andl $~0x60000000, %eax                  /* caches on: clear CD, NW */
	movl %eax, %cr0

	lgdt gdt_pointer
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	call kernel_main                         /* %rdi: hvm_start_info */
4:	hlt
	jmp 4b

/* enter_user(entry, stack): iretq to CPL3 with IOPL 3 and interrupts off. */
	.globl enter_user
enter_user:
	pushq $0x1b                              /* SS: user data | RPL 3 */
	pushq %rsi                               /* RSP */
	pushq $0x3002                            /* RFLAGS: IOPL 3, IF clear */
	pushq $0x23                              /* CS: user code | RPL 3 */
	pushq %rdi                               /* RIP */
	movw $0x1b, %ax
	movw %ax, %ds
	movw %ax, %es
	iretq

/* load_tss(selector) */
	.globl load_tss
load_tss:
	ltr %di
	ret

	.section .data
	.balign 16
	.globl gdt
gdt:
	.quad 0                                  /* null */
	.quad 0x00af9a000000ffff                 /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff                 /* 0x10 kernel data */
	.quad 0x00cff2000000ffff                 /* 0x18 user data, DPL 3 */
	.quad 0x00affa000000ffff                 /* 0x20 user code, 64-bit, DPL 3 */
	.quad 0, 0                               /* 0x28 TSS, filled in by kernel_main */
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
page_directories: .skip 4 * 4096
	.balign 16
	.skip 16384
boot_stack_top:

/* Exception stubs: push the vector (and a dummy error code where the CPU
 * pushes none) and call exception(vector, error_code, rip). */
	.section .text
	.code64
	.macro stub vector, has_error
	.balign 16
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vector
	jmp exception_common
	.endm

	.balign 16
	.globl exception_stubs
exception_stubs:
	.irp v, 0,1,2,3,4,5,6,7
	stub \v, 0
	.endr
	stub 8, 1
	stub 9, 0
	.irp v, 10,11,12,13,14
	stub \v, 1
	.endr
	.irp v, 15,16
	stub \v, 0
	.endr
	stub 17, 1
	.irp v, 18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v, 0
	.endr

exception_common:
	popq %rdi                                /* vector */
	popq %rsi                                /* error code */
	movq (%rsp), %rdx                        /* RIP of the fault */
	andq $~15, %rsp
	call exception
5:	hlt
	jmp 5b
	.section .note.GNU-stack, "", @progbits
