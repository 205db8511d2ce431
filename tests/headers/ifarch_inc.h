#pragma once
#define IF_BITS_PER_LONG (__CHAR_BIT__ * __SIZEOF_LONG__)
