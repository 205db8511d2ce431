/* Fake exec driver: hangs forever once it has a request (tests the per-run timeout). */
#include <stdio.h>
#include <unistd.h>
int main(void)
{
	char line[4096];
	if (fgets(line, sizeof line, stdin))
		for (;;)
			pause();
	return 0;
}
