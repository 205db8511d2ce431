/* Compiler built-in types as headers use them: __builtin_va_list (a struct, an array of one
 * struct, or a pointer, per ABI: its members are laid out like any struct's). */
typedef __builtin_va_list bl_va_list;
struct bl_has_va { char c; bl_va_list ap; int after; };
struct bl_va_array { bl_va_list aps[2]; };
