/* #pragma pack as UAPI headers use it (linux/batadv_packet.h, linux/cciss_defs.h). */
struct pp_none { char c; int i; long long ll; };
#pragma pack(2)
struct pp_two { char c; int i; long long ll; short s; };
struct pp_two_bits { char c; int a:20; int b:20; long long d:40; };
struct pp_two_zero { char c; long long :0; char d; };
struct pp_two_nested { char c; struct pp_none n; };
union pp_two_union { char c; long long ll; };
struct pp_two_aligned { char c; int i __attribute__((aligned(8))); };
#pragma pack(push, 1)
struct pp_one { char c; int i; short s; double d; };
#pragma pack(pop)
struct pp_two_again { char c; int i; };
#pragma pack()
struct pp_reset { char c; int i; };
#pragma pack(push, 4)
struct pp_four { char c; long long ll; double d; };
#pragma pack(pop)
