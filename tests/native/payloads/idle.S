/* Prints a line and halts with interrupts off forever: it ignores the ACPI power button. */
#include "pvh_note.inc"
main:
        mov     $message, %esi
        call    puts
        cli
1:      hlt
        jmp     1b
#include "puts.inc"
message:
        .asciz  "idle payload running\n"
