/* Fake exec driver: answers the first request, then stops mid-line and exits 0. */
#include <stdio.h>
int main(void)
{
	char line[4096];
	if (fgets(line, sizeof line, stdin)) {
		printf("first\n");
		printf("{\"probe\": \"bit_pos");
	}
	return 0;
}
