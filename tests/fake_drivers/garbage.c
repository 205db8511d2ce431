/* Fake exec driver: one line per request, as the protocol wants, but not a response. */
#include <stdio.h>
int main(void)
{
	char line[4096];
	while (fgets(line, sizeof line, stdin))
		printf("garbage \x01\x02 not a response\n");
	return 0;
}
