/* Echoes what arrives on COM1 (polling LSR.DR) until it reads 'q', then powers off. */
#include "pvh_note.inc"
main:
        mov     $ready, %esi
        call    puts
1:      mov     $0x3fd, %dx     /* LSR */
        in      %dx, %al
        test    $1, %al
        jz      1b
        mov     $0x3f8, %dx
        in      %dx, %al
        cmp     $'q', %al
        je      2f
        out     %al, %dx
        jmp     1b
2:      mov     $0x604, %dx
        mov     $0x3400, %ax
        out     %ax, %dx
3:      hlt
        jmp     3b
#include "puts.inc"
ready:
        .asciz  "echo ready\n"
