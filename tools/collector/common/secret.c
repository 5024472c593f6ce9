#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/secret.h"

static int read_line(FILE *f, char *out, size_t cap)
{
    if (fgets(out, (int)cap, f) == NULL) {
        return -EIO;
    }
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int from_terminal(const char *what, char *out, size_t cap)
{
    struct termios old, quiet;
    int rc;

    fprintf(stderr, "%s: ", what);
    tcgetattr(STDIN_FILENO, &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    rc = read_line(stdin, out, cap);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fputc('\n', stderr);
    return rc;
}

int wcol_read_secret(const char *prog, const char *file, const char *what, char *out, size_t cap)
{
    int rc;

    if (file != NULL) {
        FILE *f = fopen(file, "re");

        rc = f != NULL ? read_line(f, out, cap) : -EIO;
        if (f != NULL) {
            fclose(f);
        }
    } else if (isatty(STDIN_FILENO)) {
        rc = from_terminal(what, out, cap);
    } else {
        rc = read_line(stdin, out, cap);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: no %s read from %s\n", prog, what,
                file != NULL ? file : "the terminal or standard input");
    }
    return rc;
}
