/* steer_obj.c - the steering XDP object (steer.bpf.c compiled by clang), embedded in the daemon. */

/*
 * The daemon must not depend on the build tree at run time, so the BPF
 * object is pulled in with the assembler's .incbin; the Makefile passes its
 * path as FTOE_STEER_OBJ and makes this file depend on it.
 */
#ifndef FTOE_STEER_OBJ
#error "FTOE_STEER_OBJ (path of flextoe_steer.bpf.o) must be defined by the Makefile"
#endif

__asm__(".section .rodata\n"
	".global ftoe_steer_obj\n"
	".type ftoe_steer_obj, @object\n"
	".balign 8\n"
	"ftoe_steer_obj:\n"
	".incbin \"" FTOE_STEER_OBJ "\"\n"
	".global ftoe_steer_obj_end\n"
	".type ftoe_steer_obj_end, @object\n"
	"ftoe_steer_obj_end:\n"
	".previous\n");
