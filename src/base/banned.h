/* banned.h - functions this project does not call.  Every source file includes it after its
 * other headers, so a use is a compile error that names the reason. */
#ifndef BASE_BANNED_H
#define BASE_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_this_project

#undef strcpy
#define strcpy(x, y) BANNED(strcpy) /* unbounded: use memcpy with a known length */
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy) /* may not terminate: use snprintf or memcpy */
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf) /* unbounded: use snprintf */
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok) /* hidden state */
#undef gmtime
#define gmtime(t) BANNED(gmtime) /* static buffer: use gmtime_r */
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)
#undef gets
#define gets(s) BANNED(gets)
#undef atoi
#define atoi(s) BANNED(atoi) /* no error reporting: use the parsers in codec/ */
#undef atof
#define atof(s) BANNED(atof)

#endif
