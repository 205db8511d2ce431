/*
 * start.c - process entry of the driver built without libc: the arch's
 * _start (arch/<family>.h) calls bl_rt_start, which runs main() and exits
 * with its status once stdout is flushed.
 */
#include "sys.h"

#include <stdio.h>

__asm__(BL_START_ASM);

int main(void);

__attribute__((noreturn, used)) void bl_rt_start(long *sp);

void bl_rt_start(long *sp)
{
    int status;
    (void)sp; /* argc, argv, envp: the driver takes none */
    status = main();
    fflush(stdout);
    bl_sys_exit_group(status);
}
