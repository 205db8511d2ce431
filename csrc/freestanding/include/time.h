/* time.h of the freestanding runtime: clock_gettime on the kernel's own
 * (long, long) timespec, which is what the 32-bit clock_gettime system call
 * fills in (include/uapi/linux/time.h). */
#ifndef BL_FS_TIME_H
#define BL_FS_TIME_H

#define CLOCK_MONOTONIC 1

struct timespec {
    long tv_sec;
    long tv_nsec;
};

int clock_gettime(int clock, struct timespec *ts);

#endif /* BL_FS_TIME_H */
