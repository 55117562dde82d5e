/* Writes a line to COM1, reads the CMOS RTC seconds register (a port read round trip), then
 * powers off through ACPI S5 (PM1a_CNT = SLP_TYP 5 | SLP_EN). */
#include "pvh_note.inc"
main:
        mov     $message, %esi
        call    puts
        mov     $0x70, %dx
        xor     %al, %al
        out     %al, %dx
        mov     $0x71, %dx
        in      %dx, %al
        mov     $0x604, %dx
        mov     $0x3400, %ax
        out     %ax, %dx
1:      hlt
        jmp     1b
#include "puts.inc"
message:
        .asciz  "vmkit native payload: hello\n"
