/* Fake exec driver: starts fine, then dies by SIGSEGV on the first request. */
#include <stdio.h>
int main(void)
{
	char line[4096];
	if (fgets(line, sizeof line, stdin))
		*(volatile int *)0 = 1;
	return 0;
}
