# The guest program of the KVM backend, loaded at 0x1000 and started in
# real mode with 4 GiB segment limits ("big real mode"), which the VMM
# sets up. Real mode because KVM's instruction emulator must be able to
# run every instruction: on hosts without hardware virtualization (KVM
# on PVM, as on these machines) a guest that is not PVM-aware is
# emulated instruction by instruction, and the emulator returns from an
# interrupt (iret) in real mode only. For the same reason the program
# uses only the FPU and SSE instructions the emulator has: moves
# between XMM registers and memory, FXSAVE and FXRSTOR.
#
# Each step waits for a timer interrupt (PIT channel 0 through the
# master PIC: IRQ 0 = vector 0x20), then:
#   - shifts XMM0..XMM7 by one register and loads a new XMM0, flips the
#     flush-to-zero bit of MXCSR, and adds to the x87 ST0 register, all
#     through the FPU's own registers (FXSAVE, change, FXRSTOR), so that
#     the state lives only there between steps;
#   - adds to the SYSENTER_ESP MSR and to the local APIC's logical
#     destination register, which live only in KVM's vCPU state;
#   - fills 16 pseudo-random pages of the region with a value of the
#     step;
#   - checksums the FXSAVE image, the MSR and the APIC register ("cpu"),
#     and the first and last word of every page of the region ("mem");
# and prints one line, which depends only on the step and the guest's
# state, never on timing:
#
#   step 0000002a cpu 8c1e2d3f mem 5a0f3c21
#
# Lost timer or interrupt state hangs the guest; lost FPU, MSR or LAPIC
# state, or a page missing or stale, changes a line. After `steps` steps it prints
# "done" and writes port 0xf4, which ends the VMM's run loop.
#
# Rebuild guest.bin and guest.lst with `build-guest.sh` (GNU binutils).

        .code16
        .intel_syntax noprefix

        .set PARAMS, 0x0f00     # written by the VMM
        .set STEPS, PARAMS + 0  # u32: steps to run
        .set REGION, PARAMS + 4 # u32: first byte of the region
        .set PAGES, PARAMS + 8  # u32: pages in the region
        .set TICKS, 0x3000      # u32: timer interrupts seen
        .set NEWXMM, 0x3010     # 16 bytes: the next XMM0
        .set FXAREA, 0x3200     # 512 bytes, 16-aligned: FXSAVE image
        .set MSRVAL, 0x3024     # u32: the MSR as last written
        .set SYSENTER_ESP, 0x175
        .set APIC_LDR, 0xfee000d0
        .set SERIAL, 0x3f8
        .set EXIT, 0xf4

        .text
        .globl start
start:
        xor ax, ax
        mov ss, ax
        mov sp, 0x8000

        # 8259 PICs: vectors 0x20 and 0x28, only IRQ 0 unmasked.
        mov al, 0x11
        out 0x20, al
        out 0xa0, al
        mov al, 0x20
        out 0x21, al
        mov al, 0x28
        out 0xa1, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x02
        out 0xa1, al
        mov al, 0x01
        out 0x21, al
        out 0xa1, al
        mov al, 0xfe
        out 0x21, al
        mov al, 0xff
        out 0xa1, al

        # Real-mode vectors: all to `ignore`, 0x20 to `timer`.
        xor edi, edi
        mov cx, 256
1:      mov word ptr [edi], offset ignore
        mov word ptr [edi + 2], 0
        add edi, 4
        dec cx
        jnz 1b
        mov word ptr [0x20 * 4], offset timer

        # PIT channel 0: rate generator at about 1 kHz.
        mov al, 0x34
        out 0x43, al
        mov ax, 1193
        out 0x40, al
        mov al, ah
        out 0x40, al

        fninit
        xor ebp, ebp                    # step
        mov esi, 0x12345678             # LCG state

step:
        cmp ebp, [STEPS]
        jae finish

        # Wait for a timer interrupt.
        mov eax, [TICKS]
2:      sti
        hlt
        cli
        cmp eax, [TICKS]
        je 2b

        # XMM7 <- XMM6 <- ... <- XMM0 <- two words of the LCG.
        movdqa xmm7, xmm6
        movdqa xmm6, xmm5
        movdqa xmm5, xmm4
        movdqa xmm4, xmm3
        movdqa xmm3, xmm2
        movdqa xmm2, xmm1
        movdqa xmm1, xmm0
        call lcg
        mov [NEWXMM], esi
        mov [NEWXMM + 8], ebp
        call lcg
        mov [NEWXMM + 4], esi
        mov [NEWXMM + 12], esi
        movdqu xmm0, [NEWXMM]

        # MXCSR ^= FZ, ST0 mantissa += step + 1, in the FPU's registers.
        fxsave [FXAREA]
        xor dword ptr [FXAREA + 24], 0x8000
        mov eax, ebp
        inc eax
        add [FXAREA + 32], eax
        fxrstor [FXAREA]

        # SYSENTER_ESP += LCG word; the APIC's LDR bits 24..31 += 1.
        mov ecx, SYSENTER_ESP
        rdmsr
        add eax, esi
        wrmsr
        mov [MSRVAL], eax
        mov edi, APIC_LDR
        mov eax, [edi]
        add eax, 0x01000000
        mov [edi], eax

        # 16 pages at pseudo-random places of the region, each filled
        # with one word.
        mov ecx, 16
3:      push ecx
        call lcg
        mov eax, esi
        xor edx, edx
        div dword ptr [PAGES]
        shl edx, 12
        add edx, [REGION]
        mov edi, edx
        mov eax, esi
        xor eax, ebp
        mov ecx, 1024
        cld
        addr32 rep stosd
        pop ecx
        dec ecx
        jnz 3b

        # Checksum of the FPU state as FXSAVE writes it, the MSR and the
        # APIC register.
        fxsave [FXAREA]
        xor ebx, ebx
        mov edi, FXAREA
        mov ecx, 288 / 4
4:      rol ebx, 5
        add ebx, [edi]
        add edi, 4
        dec ecx
        jnz 4b
        rol ebx, 5
        add ebx, [MSRVAL]
        mov edi, APIC_LDR
        rol ebx, 5
        add ebx, [edi]
        push ebx

        # Checksum of the region: first and last word of each page.
        mov edi, [REGION]
        mov ecx, [PAGES]
        xor ebx, ebx
5:      rol ebx, 5
        add ebx, [edi]
        rol ebx, 3
        add ebx, [edi + 4092]
        add edi, 4096
        dec ecx
        jnz 5b

        # The line.
        mov si, offset s_step
        call puts
        mov eax, ebp
        call hex32
        mov si, offset s_cpu
        call puts
        pop eax
        call hex32
        mov si, offset s_mem
        call puts
        mov eax, ebx
        call hex32
        mov al, 10
        call putc

        # The LCG state lives in esi, which puts used: it was saved.
        mov esi, [LCG_SAVE]
        inc ebp
        jmp step

finish:
        mov si, offset s_done
        call puts
        xor al, al
        out EXIT, al
6:      cli
        hlt
        jmp 6b

        .set LCG_SAVE, 0x3020

# esi = esi * 1664525 + 1013904223, kept in LCG_SAVE too.
lcg:
        imul esi, esi, 1664525
        add esi, 1013904223
        mov [LCG_SAVE], esi
        ret

# Writes the NUL-terminated string at si.
puts:
        mov al, [si]
        test al, al
        jz 7f
        call putc
        inc si
        jmp puts
7:      ret

# Writes eax as 8 hex digits.
hex32:
        mov cx, 8
8:      rol eax, 4
        mov edx, eax
        and edx, 0xf
        push eax
        mov al, [digits + edx]
        call putc
        pop eax
        dec cx
        jnz 8b
        ret

# Writes al to the serial port.
putc:
        push dx
        mov dx, SERIAL
        out dx, al
        pop dx
        ret

# IRQ 0: count, end of interrupt.
timer:
        push ax
        inc dword ptr [TICKS]
        mov al, 0x20
        out 0x20, al
        pop ax
        iret

# Any other vector: end of interrupt at both PICs.
ignore:
        push ax
        mov al, 0x20
        out 0xa0, al
        out 0x20, al
        pop ax
        iret

digits: .ascii "0123456789abcdef"
s_step: .asciz "step "
s_cpu:  .asciz " cpu "
s_mem:  .asciz " mem "
s_done: .asciz "done\n"
