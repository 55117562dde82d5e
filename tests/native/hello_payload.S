/* A tiny guest for native KVM tests: a PVH ELF that enters in 32-bit protected mode, writes a
 * line to COM1, reads the CMOS RTC seconds register, then powers off through ACPI S5
 * (PM1a_CNT = SLP_TYP 5 | SLP_EN). No Linux, no firmware. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz */
        .long 4                 /* descsz */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long _start

        .text
        .code32
        .globl _start
_start:
        mov     $0x3f8, %dx
        mov     $message, %esi
1:      lodsb
        test    %al, %al
        jz      2f
        out     %al, %dx
        jmp     1b
2:      mov     $0x70, %dx      /* CMOS index: seconds (proves a port read round trip) */
        xor     %al, %al
        out     %al, %dx
        mov     $0x71, %dx
        in      %dx, %al
        mov     $0x604, %dx     /* ACPI PM1a control: S5 */
        mov     $0x3400, %ax
        out     %ax, %dx
3:      hlt
        jmp     3b

message:
        .asciz  "vmkit native payload: hello\n"
