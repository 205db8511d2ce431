/* Fake exec driver: reads every request, prints nothing, exits 0 (missing output). */
#include <stdio.h>
int main(void)
{
	char line[4096];
	while (fgets(line, sizeof line, stdin))
		;
	return 0;
}
