/* Scalars, pointers, arrays, padding, nesting, typedef chains. */
struct basic_scalars {
	char c;
	short s;
	int i;
	long l;
	long long ll;
	void *p;
	float f;
	double d;
	long double ld;
	_Bool b;
};
typedef struct basic_scalars basic_t;
typedef basic_t basic2_t;
struct basic_nested {
	char tag;
	struct basic_scalars inner;
	char tail[3];
	union {
		int a;
		char b[5];
	} u;
	struct {
		short x;
		long long y;
	};
	union {
		char z;
		double w;
	};
};
typedef unsigned long vm_flags_t[8 / sizeof(unsigned long)];
typedef struct { vm_flags_t flags; } vma_flags_t;
struct basic_ll { char c; long long x; };
struct basic_dbl { char c; double x; };
struct basic_ld { char c; long double x; };
struct basic_int { char c; int x; };
struct basic_short { char c; short x; };
struct basic_ptr { char c; void *x; char d; };
struct basic_char1 { char c; };
struct basic_char3 { char c[3]; };
union basic_union { char c; int i; long long ll; };
struct basic_fam { int n; short s; char data[]; };
struct basic_zero { long long n; char data[0]; };
struct basic_empty { };
