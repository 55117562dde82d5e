/* Loads an empty IDT and raises an exception: #BP -> #DF -> triple fault. */
#include "pvh_note.inc"
main:
        mov     $message, %esi
        call    puts
        lidt    empty_idt
        int3
1:      jmp     1b
#include "puts.inc"
message:
        .asciz  "about to triple fault\n"
        .balign 8
empty_idt:
        .word   0
        .long   0
