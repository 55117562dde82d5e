/* Prints a line and resets the machine through the i8042 (command 0xFE on port 0x64). */
#include "pvh_note.inc"
main:
        mov     $message, %esi
        call    puts
        mov     $0x64, %dx
        mov     $0xfe, %al
        out     %al, %dx
1:      hlt
        jmp     1b
#include "puts.inc"
message:
        .asciz  "payload booted\n"
