/* Fake exec driver: aborts before reading anything (a driver that cannot start). */
#include <stdlib.h>
int main(void)
{
	abort();
}
